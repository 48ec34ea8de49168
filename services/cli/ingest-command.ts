import { open } from "node:fs/promises";
import { Code, ConnectError } from "@connectrpc/connect";
import { type Command, Option } from "commander";
import {
  IngestObjectResponseSchema,
  SourceFormat,
} from "../../gen/lakehouse/catalog/v1/catalog_pb.js";
import { putObject } from "../storaged/client.js";
import type { CliContext } from "./cli-context.js";
import { LocalError } from "./cli-errors.js";
import type { GatewayClients } from "./gateway-clients.js";
import { localFileError } from "./local-file-errors.js";
import { examples, keyValueLines, protoJson, writeJson } from "./rendering.js";
import { uploadKey } from "./upload-key.js";
import type { UploadProgress } from "./upload-progress.js";

/** The `--format` names and what each means to the catalog and to storage. */
const SOURCE_FORMATS = {
  parquet: { format: SourceFormat.PARQUET, contentType: "application/vnd.apache.parquet" },
  csv: { format: SourceFormat.CSV, contentType: "text/csv" },
  json: { format: SourceFormat.JSON, contentType: "application/json" },
  arrow: { format: SourceFormat.ARROW_IPC, contentType: "application/vnd.apache.arrow.stream" },
} as const;

type SourceFormatName = keyof typeof SOURCE_FORMATS;

/**
 * Codes after which the ingest certainly did not commit, so the staged upload
 * can go. After any other failure (a deadline, a dropped connection) the
 * commit may have happened, and a Parquet upload may now be a data file of
 * the dataset: it is kept.
 */
const NOT_COMMITTED = new Set<Code>([
  Code.InvalidArgument,
  Code.NotFound,
  Code.AlreadyExists,
  Code.PermissionDenied,
  Code.Unauthenticated,
  Code.FailedPrecondition,
  Code.ResourceExhausted,
  Code.Aborted,
  Code.Unimplemented,
]);

async function* counted(
  chunks: AsyncIterable<Uint8Array>,
  progress: UploadProgress,
): AsyncGenerator<Uint8Array> {
  for await (const chunk of chunks) {
    progress.advance(chunk.byteLength);
    yield chunk;
  }
}

/**
 * Streams a local file to `key` through the gateway's StorageService, showing
 * progress. The object appears only when the whole file has arrived.
 */
async function uploadFile(
  context: CliContext,
  gateway: GatewayClients,
  file: string,
  key: string,
  contentType: string | undefined,
): Promise<void> {
  let handle: Awaited<ReturnType<typeof open>>;
  let size: number;
  try {
    handle = await open(file, "r");
    const stat = await handle.stat();
    if (!stat.isFile()) {
      await handle.close();
      throw Object.assign(new Error("not a file"), { code: "EISDIR" });
    }
    size = stat.size;
  } catch (error) {
    throw localFileError(error, file);
  }
  const progress = context.uploadProgress(size);
  try {
    const body = handle.createReadStream({ highWaterMark: 1024 * 1024 });
    await putObject(gateway.storage, key, counted(body, progress), {
      contentType,
      signal: gateway.signal,
    });
  } finally {
    progress.stop();
    await handle.close().catch(() => {});
  }
}

/** Removes a staged upload; a failure here must not hide the error that caused it. */
async function deleteUpload(gateway: GatewayClients, key: string): Promise<void> {
  await gateway.storage.deleteObject({ key }, { timeoutMs: 5000 }).catch(() => {});
}

/** `lakehouse ingest <file> --dataset <name>`: a local file becomes the dataset's next snapshot. */
export function registerIngestCommand(program: Command, context: CliContext): void {
  program
    .command("ingest")
    .description(
      "upload a Parquet, CSV, JSON/NDJSON or Arrow IPC file and commit it as a dataset's next snapshot",
    )
    .argument("<file>", "the file to ingest")
    .requiredOption("--dataset <name>", "target dataset (created when missing)")
    .addOption(
      new Option(
        "--format <format>",
        "the file's format (default: detected from its content and extension)",
      ).choices(Object.keys(SOURCE_FORMATS)),
    )
    .option("--replace", "replace every file of the dataset instead of appending", false)
    .option("--message <text>", "commit message", "")
    .addHelpText(
      "after",
      examples([
        "lakehouse ingest sales.csv --dataset sales",
        "lakehouse ingest events.ndjson --dataset events --format json --message 'March events'",
        "lakehouse ingest snapshot.parquet --dataset sales --replace",
      ]),
    )
    .action(
      async (
        file: string,
        options: { dataset: string; format?: SourceFormatName; replace: boolean; message: string },
        command: Command,
      ) => {
        const gateway = await context.connect(command);
        const source = options.format === undefined ? undefined : SOURCE_FORMATS[options.format];
        const key = uploadKey(file);
        await uploadFile(context, gateway, file, key, source?.contentType);
        let response: Awaited<ReturnType<typeof gateway.catalog.ingestObject>>;
        try {
          response = await gateway.catalog.ingestObject(
            {
              dataset: options.dataset,
              sourceKey: key,
              format: source?.format ?? SourceFormat.UNSPECIFIED,
              createIfMissing: true,
              replaceAll: options.replace,
              message: options.message,
              deleteSource: true,
            },
            gateway.callOptions(),
          );
        } catch (error) {
          if (NOT_COMMITTED.has(ConnectError.from(error).code)) {
            await deleteUpload(gateway, key);
          } else {
            await context.stderr.write(
              `note: the outcome is unknown; the upload stays at ${key}\n`,
            );
          }
          throw error;
        }
        const snapshot = response.snapshot;
        if (snapshot === undefined)
          throw new LocalError("internal", "IngestObject returned no snapshot");
        if (context.globals(command).json) {
          await writeJson(context.stdout, {
            dataset: options.dataset,
            ...(protoJson(IngestObjectResponseSchema, response) as object),
          });
          return;
        }
        await context.stdout.write(
          keyValueLines([
            ["dataset", options.dataset],
            ["version", String(snapshot.version)],
            ["rows", String(snapshot.rowCount)],
            ["files", String(snapshot.fileCount)],
            ["fingerprint", snapshot.schemaFingerprint],
          ]),
        );
      },
    );
}
