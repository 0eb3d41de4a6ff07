// Stub: the webhook handler is being written; exported so packaging can be exercised meanwhile.
export const handler = async (): Promise<never> => {
  throw new Error('webhook handler not implemented yet');
};
