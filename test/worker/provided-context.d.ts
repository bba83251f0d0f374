// Values test/worker/global-setup.ts and db-faults-setup.mjs provide to the workerd tests (and
// their config).
declare module "vitest" {
  export interface ProvidedContext {
    libsqlUrl: string;
    libsqlAuthToken: string;
    emptyLibsqlUrl: string;
    lowDiskLibsqlUrl: string;
    /** A TCP server that accepts and never answers: a frozen database (db-faults-setup.mjs). */
    silentDbUrl: string;
    /** A port that was just closed: a database that is down (db-faults-setup.mjs). */
    closedDbUrl: string;
    /** A webhook receiver on loopback that records requests and answers as scripted (webhook-receiver-setup.mjs). */
    webhookReceiverUrl: string;
  }
}
export {};
