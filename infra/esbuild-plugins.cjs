// esbuild plugins for serverless-esbuild (`custom.esbuild.plugins` in serverless.yml loads this file).
'use strict';

const { ownSourcesOnly } = require('./source-maps.cjs');

module.exports = () => [ownSourcesOnly()];
