// Stub: the reconcile handler is being written; exported so packaging can be exercised meanwhile.
export const handler = async (): Promise<never> => {
  throw new Error('reconcile handler not implemented yet');
};
