// Types for the `ovh` npm client (2.x ships none). Only what autok8s uses, checked against
// node_modules/ovh/lib/ovh.es6.js.
declare module 'ovh' {
  function ovh(params: ovh.OvhClientParams): ovh.OvhClient;

  namespace ovh {
    interface OvhClientParams {
      appKey: string;
      appSecret: string;
      consumerKey?: string;
      /** A preconfigured endpoint name ('ovh-eu', ...); overrides host. */
      endpoint?: string;
      host?: string;
      port?: number;
      basePath?: string;
      /** Socket inactivity timeout in ms; the request is then aborted (an ECONNRESET error). */
      timeout?: number;
      /** Seconds to add to the local clock; when absent the client asks /auth/time once. */
      apiTimeDiff?: number;
      debug?: boolean | ((...args: unknown[]) => void);
    }

    /** What requestPromised rejects with: an HTTP status and OVH's message, or a network error. */
    interface OvhRejection {
      error: number | string | Error;
      message?: string | null;
    }

    interface OvhClient {
      requestPromised(method: string, path: string, params?: Record<string, unknown>): PromiseLike<unknown>;
      signRequest(method: string, url: string, body: string | null, timestamp: number | string): string;
    }
  }

  export = ovh;
}
