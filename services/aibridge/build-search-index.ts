import { randomUUID } from "node:crypto";
import { once } from "node:events";
import { createWriteStream } from "node:fs";
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { join, resolve } from "node:path";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Snapshot } from "../../gen/lakehouse/catalog/v1/catalog_pb.js";
import { SourceFormat } from "../../gen/lakehouse/catalog/v1/catalog_pb.js";
import { serviceError } from "../kit/errors.js";
import { sqlIdentifier } from "../kit/sql-text.js";
import { putObject } from "../storaged/client.js";
import type { AiLimits } from "./config.js";
import type { IndexParquetWriter } from "./index-parquet.js";
import { forEachJsonRow, type LakehouseClients } from "./lakehouse-clients.js";
import type { ProviderRegistry, ResolvedModel } from "./provider-registry.js";
import { truncateUtf8 } from "./request-checks.js";
import {
  commitStamp,
  indexMessage,
  parseIndexMessage,
  type SearchIndexInfo,
  searchIndexName,
} from "./search-index-name.js";

/** What BuildSearchIndex asks for, already checked for presence. */
export interface BuildIndexRequest {
  readonly dataset: string;
  readonly column: string;
  readonly version: bigint;
  readonly provider: string;
  readonly model: string;
}

/** What BuildSearchIndex answers. */
export interface BuiltIndex {
  readonly indexDataset: string;
  readonly indexVersion: bigint;
  readonly sourceVersion: bigint;
  readonly rowsEmbedded: bigint;
  readonly rowsReused: bigint;
}

/** What building an index needs. */
export interface BuildIndexDeps {
  readonly clients: LakehouseClients;
  readonly registry: ProviderRegistry;
  readonly limits: AiLimits;
  readonly writer: IndexParquetWriter;
  readonly workDirectory: string;
}

/**
 * Embeds the distinct non-NULL texts of a column of one snapshot into the
 * derived dataset {@link searchIndexName}: one row per distinct text
 * (`text_hash` = DuckDB's `sha256` of the text, `embedding FLOAT[d]`), the
 * source snapshot and model recorded in the index snapshot's message. Vectors
 * of texts the previous index already holds (same model) are reused, so a
 * rebuild for a newer snapshot embeds only new or changed texts. Row counts
 * in the answer count distinct texts. Texts over the byte limit are embedded
 * from their first `maxTextBytes` bytes.
 */
export async function buildSearchIndex(
  deps: BuildIndexDeps,
  request: BuildIndexRequest,
  signal: AbortSignal,
): Promise<BuiltIndex> {
  const { catalog } = deps.clients;
  const found = await catalog.getDataset(
    { name: request.dataset, version: request.version },
    { signal },
  );
  const snapshot = found.dataset?.snapshot;
  if (snapshot === undefined) {
    throw serviceError(
      Code.NotFound,
      "NO_SNAPSHOT",
      `dataset ${request.dataset} has no snapshot to index`,
      { dataset: request.dataset },
    );
  }
  // Named as the dataset spells it, however the request does: DuckDB ignores case.
  const column = textColumn(snapshot, request.dataset, request.column);
  const target = deps.registry.resolve(request.provider, request.model, "embed");
  const indexDataset = searchIndexName(request.dataset, column, target.provider.name, target.model);
  const previous = await previousVectors(deps.clients, indexDataset, signal);
  // Absolute, as the writer's DuckDB is allowed into the resolved work directory only.
  const work = resolve(deps.workDirectory);
  await mkdir(work, { recursive: true });
  const directory = await mkdtemp(join(work, "index-"));
  try {
    const ndjsonPath = join(directory, "vectors.ndjson");
    const counts = await writeVectors(deps, request, snapshot.version, target, previous, {
      ndjsonPath,
      signal,
    });
    const dimensions = counts.dimensions || (await probeDimensions(target, signal));
    const parquetPath = join(directory, "vectors.parquet");
    await deps.writer.convert(ndjsonPath, parquetPath, dimensions);
    const key = `datasets/${indexDataset}/data/${randomUUID()}.parquet`;
    await putObject(deps.clients.storage, key, await readFile(parquetPath), {
      ifNoneMatch: true,
      contentType: "application/vnd.apache.parquet",
      signal,
    });
    const info: SearchIndexInfo = {
      source: request.dataset,
      sourceVersion: Number(snapshot.version),
      sourceCommitted: commitStamp(snapshot.commitTime),
      column: column,
      provider: target.provider.name,
      model: target.model,
      dimensions,
    };
    const ingested = await catalog.ingestObject(
      {
        dataset: indexDataset,
        sourceKey: key,
        format: SourceFormat.PARQUET,
        createIfMissing: true,
        replaceAll: true,
        message: indexMessage(info),
      },
      { signal },
    );
    return {
      indexDataset,
      indexVersion: ingested.snapshot?.version ?? 0n,
      sourceVersion: snapshot.version,
      rowsEmbedded: BigInt(counts.embedded),
      rowsReused: BigInt(counts.reused),
    };
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}

/**
 * The text column `column` names, as the snapshot spells it (matched ignoring
 * case, as DuckDB matches column names).
 *
 * @throws NOT_FOUND (COLUMN_NOT_FOUND); INVALID_ARGUMENT (NOT_A_TEXT_COLUMN).
 */
function textColumn(snapshot: Snapshot, dataset: string, column: string): string {
  const fields = snapshot.schema?.fields ?? [];
  const field =
    fields.find((f) => f.name === column) ??
    fields.find((f) => f.name.toLowerCase() === column.toLowerCase());
  if (field === undefined) {
    throw serviceError(
      Code.NotFound,
      "COLUMN_NOT_FOUND",
      `dataset ${dataset} version ${snapshot.version} has no column ${column}`,
      { dataset, column },
    );
  }
  if (!/^(VARCHAR|STRING|TEXT|utf8|large_?utf8)$/i.test(field.type)) {
    throw serviceError(
      Code.InvalidArgument,
      "NOT_A_TEXT_COLUMN",
      `column ${column} of ${dataset} is ${field.type}, not text`,
      { dataset, column, type: field.type },
    );
  }
  return field.name;
}

/** The vectors of the latest index snapshot, by text hash; empty when there is none. */
async function previousVectors(
  clients: LakehouseClients,
  indexDataset: string,
  signal: AbortSignal,
): Promise<Map<string, number[]>> {
  const vectors = new Map<string, number[]>();
  try {
    const found = await clients.catalog.getDataset({ name: indexDataset }, { signal });
    const snapshot = found.dataset?.snapshot;
    if (snapshot === undefined) return vectors;
    parseIndexMessage(indexDataset, snapshot.message);
    await forEachJsonRow(
      clients.query,
      {
        sql: `SELECT text_hash, embedding FROM ${sqlIdentifier(indexDataset)} AT (VERSION => ${snapshot.version})`,
      },
      signal,
      (row) => {
        vectors.set(String(row.text_hash), row.embedding as number[]);
      },
    );
  } catch (error) {
    if (ConnectError.from(error).code !== Code.NotFound) throw error;
  }
  return vectors;
}

/** Streams the distinct texts to NDJSON, reusing or embedding each vector. */
async function writeVectors(
  deps: BuildIndexDeps,
  request: BuildIndexRequest,
  version: bigint,
  target: ResolvedModel,
  previous: Map<string, number[]>,
  output: { ndjsonPath: string; signal: AbortSignal },
): Promise<{ embedded: number; reused: number; dimensions: number }> {
  const file = createWriteStream(output.ndjsonPath);
  const write = async (hash: string, embedding: number[]) => {
    if (!file.write(`${JSON.stringify({ text_hash: hash, embedding })}\n`)) {
      await once(file, "drain");
    }
  };
  let embedded = 0;
  let reused = 0;
  let dimensions = 0;
  let pending: { hash: string; text: string }[] = [];
  const flush = async () => {
    if (pending.length === 0) return;
    const vectors = await target.provider.embed(
      pending.map((item) => item.text),
      target.model,
      output.signal,
    );
    for (const [i, item] of pending.entries()) {
      const vector = vectors[i] ?? [];
      dimensions ||= vector.length;
      if (vector.length !== dimensions) {
        throw serviceError(
          Code.FailedPrecondition,
          "MIXED_DIMENSIONS",
          `model ${target.model} answered vectors of ${vector.length} and ${dimensions} values`,
        );
      }
      await write(item.hash, vector);
    }
    embedded += pending.length;
    pending = [];
  };
  const column = sqlIdentifier(request.column);
  try {
    let texts = 0;
    await forEachJsonRow(
      deps.clients.query,
      {
        sql: `SELECT DISTINCT sha256(${column}) AS h, ${column} AS t FROM ${sqlIdentifier(request.dataset)} AT (VERSION => ${version}) WHERE ${column} IS NOT NULL`,
      },
      output.signal,
      async (row) => {
        if (++texts > deps.limits.maxIndexTexts) {
          throw serviceError(
            Code.ResourceExhausted,
            "INDEX_TOO_LARGE",
            `column ${request.column} holds more than ${deps.limits.maxIndexTexts} distinct texts`,
            { limit: String(deps.limits.maxIndexTexts) },
          );
        }
        const hash = String(row.h);
        const kept = previous.get(hash);
        if (kept !== undefined && (dimensions === 0 || kept.length === dimensions)) {
          dimensions ||= kept.length;
          reused++;
          await write(hash, kept);
          return;
        }
        pending.push({ hash, text: truncateUtf8(String(row.t), deps.limits.maxTextBytes) });
        if (pending.length >= deps.limits.maxTexts) await flush();
      },
    );
    await flush();
  } finally {
    file.end();
    await once(file, "close");
  }
  return { embedded, reused, dimensions };
}

/** The vector length of a model, for an index of a column with no text at all. */
async function probeDimensions(target: ResolvedModel, signal: AbortSignal): Promise<number> {
  const [vector] = await target.provider.embed(["dimensions"], target.model, signal);
  return vector?.length ?? 1;
}
