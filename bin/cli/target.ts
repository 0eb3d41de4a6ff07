// Operator CLI: resolves `<backend>/<slot>` or `<instance-id>` to the slots a hold command acts on.
import type { BackendConfig, ConfigDocument } from '../../functions/lib/config.js';
import { validName } from '../../functions/lib/domain/values.js';
import { NotFoundError } from '../../functions/lib/errors.js';
import type { SlotStore } from '../../functions/lib/ports.js';
import { selectBackends } from './context.js';
import { UsageError } from './usage.js';

/** One slot to act on, with the backend config the converge step needs. */
export interface SlotTarget {
  readonly backend: BackendConfig;
  readonly slot: string;
  /** Set when the target was named by instance id: the change lands only while that member still owns the slot. */
  readonly member?: string;
}

/**
 * `web/web3` names one slot. Anything else is a member (instance) id: every slot it owns, in every backend or only in
 * `--backend`. An instance in several backends is taken out of all of them, which is what "drain i-…" means.
 */
export async function resolveTargets(
  target: string,
  backendOption: string | undefined,
  config: Readonly<ConfigDocument>,
  store: SlotStore,
): Promise<readonly SlotTarget[]> {
  const slash = target.indexOf('/');
  if (slash >= 0) {
    const [backendName, slot] = [target.slice(0, slash), target.slice(slash + 1)];
    if (!backendName || !slot) throw new UsageError(`'${target}' is not <backend>/<slot>`);
    if (backendOption !== undefined && backendOption !== backendName) {
      throw new UsageError(`'${target}' is in backend ${backendName}, not in --backend ${backendOption}`);
    }
    const [backend] = selectBackends(config, backendName);
    return [{ backend: backend as BackendConfig, slot: validName('slot', slot) }];
  }
  const member = validName('instance-id', target);
  const backends = selectBackends(config, backendOption);
  const found = await Promise.all(
    backends.map(async (backend) => ({ backend, record: await store.findByMember(backend.name, member) })),
  );
  const targets = found.flatMap(({ backend, record }) => (record ? [{ backend, slot: record.slot, member }] : []));
  if (targets.length === 0) {
    const where = backendOption === undefined ? 'any backend' : `backend ${backendOption}`;
    throw new NotFoundError(`${member} owns no slot in ${where}`);
  }
  return targets;
}
