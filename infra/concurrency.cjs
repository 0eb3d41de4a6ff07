// Reserved concurrency of the lifecycle and webhook functions, checked against the per-host connection budget
// (issue 10): every invocation opens one Runtime API connection per HAProxy host, so at most
// lifecycle + webhook + 1 (reconcile) connections reach a host at once, and that must fit `hostConnections`.
'use strict';

const { intParam } = require('./params.cjs');

/** Reconcile runs one pass at a time (serverless.yml reserves exactly 1). */
const RECONCILE_CONCURRENCY = 1;

async function budget(resolveVariable) {
  const lifecycle = await intParam(resolveVariable, 'lifecycleReservedConcurrency', 2, 1000);
  const webhook = await intParam(resolveVariable, 'webhookReservedConcurrency', 1, 1000);
  const hostConnections = await intParam(resolveVariable, 'hostConnections', 3, 10_000);
  const total = lifecycle + webhook + RECONCILE_CONCURRENCY;
  if (total > hostConnections) {
    throw new Error(
      `lifecycleReservedConcurrency (${lifecycle}) + webhookReservedConcurrency (${webhook}) + 1 reconcile = ${total} ` +
        `connections per HAProxy host exceed hostConnections (${hostConnections}); lower them or raise the budget ` +
        "(here and in the config document) while keeping it under the hosts' `stats maxconn`",
    );
  }
  return { lifecycle, webhook };
}

/** functions.lifecycle.reservedConcurrency (also the SQS mapping's maximum concurrency, which needs at least 2). */
const lifecycle = async ({ resolveVariable }) => (await budget(resolveVariable)).lifecycle;
/** functions.webhook.reservedConcurrency */
const webhook = async ({ resolveVariable }) => (await budget(resolveVariable)).webhook;

module.exports = { RECONCILE_CONCURRENCY, lifecycle, webhook };
