// Values test/worker/global-setup.ts provides to the workerd tests (and their config).
declare module "vitest" {
  export interface ProvidedContext {
    libsqlUrl: string;
    libsqlAuthToken: string;
    emptyLibsqlUrl: string;
    lowDiskLibsqlUrl: string;
  }
}
export {};
