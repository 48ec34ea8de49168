// Minimal typings for the parts of s3rver (which ships none) the test server uses.
declare module "s3rver" {
  import type { Server } from "node:http";

  interface S3rverOptions {
    address?: string;
    port?: number;
    silent?: boolean;
    directory?: string;
    resetOnClose?: boolean;
    vhostBuckets?: boolean;
    configureBuckets?: { name: string; configs?: (string | Buffer)[] }[];
  }

  interface S3rverStoredObject {
    key: string;
  }

  interface S3rverListResult {
    objects: S3rverStoredObject[];
    commonPrefixes: string[];
    isTruncated: boolean;
  }

  interface S3rverListOptions {
    delimiter?: string;
    startAfter?: string;
    prefix?: string;
    maxKeys?: number;
  }

  interface S3rverStore {
    getMetadata(bucket: string, key: string): Promise<Record<string, string>>;
    listObjects(bucket: string, options: S3rverListOptions): Promise<S3rverListResult>;
    getResourcePath(bucket: string, key: string, resource: string): string;
  }

  class S3rver {
    constructor(options: S3rverOptions);
    middleware: unknown[];
    store: S3rverStore;
    httpServer?: Server;
    run(): Promise<{ address: string; port: number }>;
    close(): Promise<void>;
  }

  export default S3rver;
}
