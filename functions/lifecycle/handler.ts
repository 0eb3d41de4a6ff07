// Stub: the lifecycle handler is being written; exported so packaging can be exercised meanwhile.
export const handler = async (): Promise<never> => {
  throw new Error('lifecycle handler not implemented yet');
};
