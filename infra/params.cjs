// Package-time helpers for the generators in infra/: read a stage param and refuse a bad value with its name,
// so a mistyped params.<stage> fails `serverless package` instead of producing a template CloudFormation rejects.
'use strict';

/** An integer param within [min, max]. */
async function intParam(resolveVariable, name, min, max) {
  const raw = await resolveVariable(`param:${name}`);
  const value = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`param ${name}: an integer from ${min} to ${max} is required, got ${JSON.stringify(raw)}`);
  }
  return value;
}

/** A param every real stage must set in its own section: missing, it names the stage and the example to copy. */
async function stageParam(resolveVariable, name) {
  try {
    return await resolveVariable(`param:${name}`);
  } catch (error) {
    // The resolver's "not resolved yet, ask again later" signal must pass through untouched.
    if (error?.code === 'MISSING_VARIABLE_DEPENDENCY') throw error;
    const stage = await resolveVariable('sls:stage');
    throw new Error(
      `params.${stage}.${name} is not set: add a params.${stage} section to serverless.yml (params.prod is an example)`,
      {
        cause: error,
      },
    );
  }
}

/** A list param (an absent or empty value is an empty list). */
async function listParam(resolveVariable, name) {
  const raw = await stageParam(resolveVariable, name);
  if (raw === undefined || raw === null || raw === '') return [];
  if (!Array.isArray(raw)) throw new Error(`param ${name}: a list is required, got ${JSON.stringify(raw)}`);
  return raw;
}

/** The function's timeout in seconds, as serverless.yml sets it. */
async function functionTimeout(resolveVariable, fn) {
  const value = Number(await resolveVariable(`self:functions.${fn}.timeout`));
  if (!Number.isInteger(value) || value < 1) throw new Error(`functions.${fn}.timeout must be set (seconds)`);
  return value;
}

module.exports = { functionTimeout, intParam, listParam, stageParam };
