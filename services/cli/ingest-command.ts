import { type FileHandle, open } from "node:fs/promises";
import { Code, ConnectError } from "@connectrpc/connect";
import { type Command, Option } from "commander";
import {
  type IngestObjectResponse,
  IngestObjectResponseSchema,
  SourceFormat,
} from "../../gen/lakehouse/catalog/v1/catalog_pb.js";
import { canonicalDatasetName } from "../catalogd/dataset-name.js";
import { putObject } from "../storaged/client.js";
import type { CliContext } from "./cli-context.js";
import { LocalError } from "./cli-errors.js";
import { collectSettings } from "./cli-options.js";
import type { GatewayClients } from "./gateway-clients.js";
import {
  chooseIngestFormat,
  INGEST_FORMATS,
  type IngestFormat,
  type IngestFormatName,
  SOURCE_HEAD_BYTES,
} from "./ingest-format.js";
import { localFileError } from "./local-file-errors.js";
import { examples, keyValueLines, protoJson, writeJson } from "./rendering.js";
import { uploadKey } from "./upload-key.js";
import type { UploadProgress } from "./upload-progress.js";

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

/** A local file opened for upload, with its size and first bytes. */
interface SourceFile {
  readonly handle: FileHandle;
  readonly size: number;
  readonly head: Uint8Array;
}

/** Opens `file` and reads its first bytes, mapping fs errors to CLI errors. */
async function openSourceFile(file: string): Promise<SourceFile> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(file, "r");
    const stat = await handle.stat();
    if (!stat.isFile()) throw Object.assign(new Error("not a file"), { code: "EISDIR" });
    const head = Buffer.alloc(SOURCE_HEAD_BYTES);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    return { handle, size: stat.size, head: head.subarray(0, bytesRead) };
  } catch (error) {
    await handle?.close().catch(() => {});
    throw localFileError(error, file);
  }
}

/**
 * Streams the opened file to `key` through the gateway's StorageService,
 * counting bytes into `progress`. The object appears only when the whole file
 * has arrived.
 */
async function uploadFile(
  gateway: GatewayClients,
  source: SourceFile,
  key: string,
  contentType: string,
  progress: UploadProgress,
): Promise<void> {
  const body = source.handle.createReadStream({
    start: 0,
    highWaterMark: 1024 * 1024,
    autoClose: false,
  });
  await putObject(gateway.storage, key, counted(body, progress), {
    contentType,
    signal: gateway.signal,
  });
}

/** Removes a staged upload; a failure here must not hide the error that caused it. */
async function deleteUpload(gateway: GatewayClients, key: string): Promise<void> {
  await gateway.storage.deleteObject({ key }, { timeoutMs: 5000 }).catch(() => {});
}

/** The `ingest` options commander hands to the action. */
interface IngestOptions {
  readonly dataset: string;
  readonly format?: IngestFormatName;
  readonly replace: boolean;
  readonly message: string;
  readonly option?: Record<string, string>;
}

/**
 * Runs IngestObject on the staged upload while `progress` tells what the
 * catalog is doing, and cleans up after a failure that surely did not commit.
 */
async function commitUpload(
  context: CliContext,
  gateway: GatewayClients,
  key: string,
  format: IngestFormat,
  options: IngestOptions,
  progress: UploadProgress,
): Promise<IngestObjectResponse> {
  progress.waiting(
    format.format === SourceFormat.PARQUET ? "committing" : "converting to Parquet and committing",
  );
  try {
    return await gateway.catalog.ingestObject(
      {
        dataset: options.dataset,
        sourceKey: key,
        format: format.format,
        createIfMissing: true,
        replaceAll: options.replace,
        message: options.message,
        deleteSource: true,
        readerOptions: options.option ?? {},
      },
      gateway.callOptions(),
    );
  } catch (error) {
    progress.stop();
    if (NOT_COMMITTED.has(ConnectError.from(error).code)) {
      await deleteUpload(gateway, key);
    } else {
      await context.stderr.write(`note: the outcome is unknown; the upload stays at ${key}\n`);
    }
    throw error;
  }
}

/** `lakehouse ingest <file> --dataset <name>`: a local file becomes the dataset's next snapshot. */
export function registerIngestCommand(program: Command, context: CliContext): void {
  program
    .command("ingest")
    .description(
      "upload a Parquet, CSV, JSON/NDJSON or Arrow IPC file and commit it as a dataset's next snapshot",
    )
    .usage("<file> --dataset <name> [options]")
    .argument("<file>", "the file to ingest")
    .requiredOption("--dataset <name>", "target dataset, created when missing (required)")
    .addOption(
      new Option(
        "--format <format>",
        "the file's format (default: detected from its content and extension)",
      ).choices(Object.keys(INGEST_FORMATS)),
    )
    .option("--replace", "replace every file of the dataset instead of appending", false)
    .option("--message <text>", "commit message", "")
    .option(
      "--option <name=value>",
      "how to read a CSV or JSON file, as DuckDB's read_csv/read_json option of that name " +
        "(delim, nullstr, dateformat, encoding, sample_size, ...; repeatable)",
      collectSettings,
    )
    .addHelpText(
      "after",
      examples([
        "lakehouse ingest sales.csv --dataset sales",
        "lakehouse ingest export.csv --dataset sales --option delim=';' --option nullstr=NA",
        "lakehouse ingest events.ndjson --dataset events --format json --message 'March events'",
        "lakehouse ingest snapshot.parquet --dataset sales --replace",
      ]),
    )
    .action(async (file: string, options: IngestOptions, command: Command) => {
      const key = uploadKey(file);
      const source = await openSourceFile(file);
      let format: IngestFormat;
      let gateway: GatewayClients;
      let progress: UploadProgress | undefined;
      let response: IngestObjectResponse;
      try {
        try {
          // Settled before connecting, so a file the catalog would refuse costs no upload.
          format = await chooseIngestFormat(options.format, file, key, source.head);
          gateway = await context.connect(command);
          progress = context.uploadProgress(source.size);
          await uploadFile(gateway, source, key, format.contentType, progress);
        } finally {
          await source.handle.close().catch(() => {});
        }
        response = await commitUpload(context, gateway, key, format, options, progress);
      } finally {
        progress?.stop();
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
          ["dataset", canonicalDatasetName(options.dataset)],
          ["version", String(snapshot.version)],
          ["rows", String(snapshot.rowCount)],
          ["files", String(snapshot.fileCount)],
          ["fingerprint", snapshot.schemaFingerprint],
        ]),
      );
    });
}
