import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { SearchMode } from "../../gen/lakehouse/ai/v1/ai_pb.js";
import type { Dataset } from "../../gen/lakehouse/catalog/v1/catalog_pb.js";
import { QueryParameterSchema, type ReadReceipt } from "../../gen/lakehouse/query/v1/query_pb.js";
import { errorReason, serviceError } from "../kit/errors.js";
import { sqlIdentifier } from "../kit/sql-text.js";
import { createBm25Accumulator } from "./bm25.js";
import { forEachJsonRow, type LakehouseClients } from "./lakehouse-clients.js";
import type { ProviderRegistry } from "./provider-registry.js";
import { truncateUtf8 } from "./request-checks.js";
import {
  commitStamp,
  parseIndexMessage,
  type SearchIndexInfo,
  searchIndexName,
  searchIndexPrefix,
} from "./search-index-name.js";

/** The reciprocal rank fusion constant of Cormack et al.: damps the weight of top ranks. */
const RRF_K = 60;

/** The column carrying each source row's text hash; removed before rows are returned. */
const HASH_COLUMN = "__lakehouse_text_hash";

/** A search, already checked. */
export interface SearchRequest {
  readonly dataset: string;
  readonly column: string;
  readonly query: string;
  readonly k: number;
  readonly mode: SearchMode;
}

/** One hit: its score and the source row as JSON. */
export interface SearchResult {
  readonly hits: { score: number; rowJson: string }[];
  readonly receipts: ReadReceipt[];
}

/** What a search needs. */
export interface SearchDeps {
  readonly clients: LakehouseClients;
  readonly registry: ProviderRegistry;
  readonly maxTextBytes: number;
}

interface Located {
  readonly name: string;
  readonly version: bigint;
  readonly info: SearchIndexInfo;
}

/** One distinct text's place in a ranking. */
interface RankedText {
  readonly hash: string;
  readonly score: number;
}

/**
 * Finds the rows of a dataset closest to a query over an indexed column. The
 * index pins the source snapshot it was built from, so vectors and rows always
 * agree. Texts are ranked by DuckDB's `array_cosine_similarity` (vector), BM25
 * over the distinct texts (lexical), or both fused by reciprocal rank
 * (hybrid, the default); then the source rows holding the best texts are
 * read, best first, up to `k` (rows sharing a text share its score).
 */
export async function searchDataset(
  deps: SearchDeps,
  request: SearchRequest,
  signal: AbortSignal,
): Promise<SearchResult> {
  const index = await locateIndex(deps, request, signal).catch(async (error: unknown) => {
    // Columns are matched ignoring case, as DuckDB matches them: an index is
    // named after the column as the dataset spells it.
    if (errorReason(error) !== "NO_SEARCH_INDEX") throw error;
    const spelled = await columnAsSpelled(deps, request, signal);
    if (spelled === undefined || spelled === request.column) throw error;
    return locateIndex(deps, { ...request, column: spelled }, signal);
  });
  await assertSourceUnchanged(deps, index, signal);
  const receipts: ReadReceipt[] = [];
  const depth = request.mode === SearchMode.HYBRID ? Math.max(request.k * 4, 50) : request.k;
  const vector =
    request.mode === SearchMode.LEXICAL
      ? undefined
      : await vectorRanking(deps, index, request.query, depth, receipts, signal);
  const lexical =
    request.mode === SearchMode.VECTOR
      ? undefined
      : await lexicalRanking(deps, index, request.query, depth, receipts, signal);
  const ranking =
    vector !== undefined && lexical !== undefined
      ? reciprocalRankFusion([vector, lexical])
      : (vector ?? lexical ?? []);
  const hits = await rowsOf(deps, index, ranking, request.k, receipts, signal);
  return { hits, receipts: uniqueReceipts(receipts) };
}

/**
 * The newest index of the column: the default embedding model's if it
 * exists, else any index built for this dataset and column, found by name
 * prefix and told apart by the source recorded in its snapshot (which also
 * finds indexes named before the dataset name entered the name's hash).
 *
 * @throws NOT_FOUND (NO_SEARCH_INDEX).
 */
async function locateIndex(
  deps: SearchDeps,
  request: SearchRequest,
  signal: AbortSignal,
): Promise<Located> {
  const candidates: Dataset[] = [];
  try {
    const preferred = deps.registry.resolve("", "", "embed");
    const name = searchIndexName(
      request.dataset,
      request.column,
      preferred.provider.name,
      preferred.model,
    );
    const found = await deps.clients.catalog.getDataset({ name }, { signal });
    if (found.dataset !== undefined) candidates.push(found.dataset);
  } catch (error) {
    const code = ConnectError.from(error).code;
    if (code !== Code.NotFound && code !== Code.FailedPrecondition) throw error;
  }
  if (candidates.length === 0) {
    const prefix = searchIndexPrefix(request.dataset, request.column);
    let pageToken = "";
    do {
      const page = await deps.clients.catalog.listDatasets(
        { pageSize: 1000, pageToken },
        { signal },
      );
      candidates.push(...page.datasets.filter((dataset) => dataset.name.startsWith(prefix)));
      pageToken = page.nextPageToken;
    } while (pageToken !== "");
  }
  const usable = candidates.flatMap((dataset): (Located & { time: bigint })[] => {
    const snapshot = dataset.snapshot;
    if (snapshot === undefined) return [];
    try {
      const info = parseIndexMessage(dataset.name, snapshot.message);
      if (info.source !== request.dataset || info.column !== request.column) return [];
      const time = snapshot.commitTime?.seconds ?? 0n;
      return [{ name: dataset.name, version: snapshot.version, info, time }];
    } catch {
      return [];
    }
  });
  usable.sort((a, b) => (b.time > a.time ? 1 : b.time < a.time ? -1 : 0));
  const chosen = usable[0];
  if (chosen === undefined) {
    throw serviceError(
      Code.NotFound,
      "NO_SEARCH_INDEX",
      `no search index exists for column ${request.column} of ${request.dataset}: build one with BuildSearchIndex`,
      { dataset: request.dataset, column: request.column },
    );
  }
  return chosen;
}

/** The best texts by cosine similarity, computed by DuckDB over the index. */
async function vectorRanking(
  deps: SearchDeps,
  index: Located,
  query: string,
  depth: number,
  receipts: ReadReceipt[],
  signal: AbortSignal,
): Promise<RankedText[]> {
  const { info } = index;
  const target = deps.registry.resolve(info.provider, info.model, "embed");
  const [vector] = await target.provider.embed(
    [truncateUtf8(query, deps.maxTextBytes)],
    target.model,
    signal,
  );
  if (vector === undefined || vector.length !== info.dimensions) {
    throw serviceError(
      Code.FailedPrecondition,
      "INDEX_MODEL_CHANGED",
      `model ${info.model} now answers vectors of ${vector?.length ?? 0} values, the index holds ${info.dimensions}: rebuild it`,
    );
  }
  const ranked: RankedText[] = [];
  receipts.push(
    ...(await forEachJsonRow(
      deps.clients.query,
      {
        sql: `SELECT text_hash, array_cosine_similarity(embedding::FLOAT[${info.dimensions}], ?::FLOAT[${info.dimensions}]) AS score
          FROM ${sqlIdentifier(index.name)} AT (VERSION => ${index.version})
          ORDER BY score DESC NULLS LAST, text_hash LIMIT ${depth}`,
        parameters: [stringParameter(`[${vector.join(",")}]`)],
      },
      signal,
      (row) => {
        ranked.push({ hash: String(row.text_hash), score: Number(row.score ?? 0) });
      },
    )),
  );
  return ranked;
}

/** The best texts by BM25, over the distinct texts of the indexed snapshot. */
async function lexicalRanking(
  deps: SearchDeps,
  index: Located,
  query: string,
  depth: number,
  receipts: ReadReceipt[],
  signal: AbortSignal,
): Promise<RankedText[]> {
  const accumulator = createBm25Accumulator(query);
  const hashes: string[] = [];
  const column = sqlIdentifier(index.info.column);
  receipts.push(
    ...(await readSource(
      deps,
      index,
      {
        sql: `SELECT DISTINCT sha256(${column}) AS h, ${column} AS t
          FROM ${sqlIdentifier(index.info.source)} AT (VERSION => ${index.info.sourceVersion})
          WHERE ${column} IS NOT NULL`,
      },
      signal,
      (row) => {
        accumulator.add(hashes.length, String(row.t));
        hashes.push(String(row.h));
      },
    )),
  );
  return accumulator
    .ranked()
    .slice(0, depth)
    .map((result) => ({ hash: hashes[result.index] ?? "", score: result.score }));
}

/** Fuses rankings: each text scores the sum of 1 / (60 + rank) over the rankings holding it. */
export function reciprocalRankFusion(rankings: RankedText[][]): RankedText[] {
  const scores = new Map<string, number>();
  for (const ranking of rankings) {
    ranking.forEach((item, rank) => {
      scores.set(item.hash, (scores.get(item.hash) ?? 0) + 1 / (RRF_K + rank + 1));
    });
  }
  return [...scores]
    .map(([hash, score]) => ({ hash, score }))
    .sort((a, b) => b.score - a.score || (a.hash < b.hash ? -1 : 1));
}

/** Reads the source rows holding the ranked texts, in ranking order, at most `k`. */
async function rowsOf(
  deps: SearchDeps,
  index: Located,
  ranking: RankedText[],
  k: number,
  receipts: ReadReceipt[],
  signal: AbortSignal,
): Promise<SearchResult["hits"]> {
  if (ranking.length === 0) return [];
  const scoreOf = new Map(ranking.map((item) => [item.hash, item.score]));
  const list = ranking.map((item) => item.hash).join(",");
  const column = sqlIdentifier(index.info.column);
  const hits: SearchResult["hits"] = [];
  receipts.push(
    ...(await readSource(
      deps,
      index,
      {
        sql: `SELECT sha256(s.${column}) AS ${HASH_COLUMN}, s.*
          FROM ${sqlIdentifier(index.info.source)} AS s AT (VERSION => ${index.info.sourceVersion})
          WHERE list_contains(string_split(?, ','), sha256(s.${column}))
          ORDER BY list_position(string_split(?, ','), sha256(s.${column}))
          LIMIT ${k}`,
        parameters: [stringParameter(list), stringParameter(list)],
      },
      signal,
      (row) => {
        const hash = String(row[HASH_COLUMN]);
        delete row[HASH_COLUMN];
        hits.push({ score: scoreOf.get(hash) ?? 0, rowJson: JSON.stringify(row) });
      },
    )),
  );
  return hits;
}

/** The dataset's spelling of the requested column, if its latest snapshot has it in another case. */
async function columnAsSpelled(
  deps: SearchDeps,
  request: SearchRequest,
  signal: AbortSignal,
): Promise<string | undefined> {
  const { dataset } = await deps.clients.catalog.getDataset(
    { name: request.dataset, omitFiles: true },
    { signal },
  );
  const wanted = request.column.toLowerCase();
  return dataset?.snapshot?.schema?.fields.find((f) => f.name.toLowerCase() === wanted)?.name;
}

/**
 * Makes sure the snapshot an index was built from is still the one of that
 * version: a dataset dropped and made again may have a snapshot of the same
 * version holding other rows.
 *
 * @throws FAILED_PRECONDITION (INDEX_STALE).
 */
async function assertSourceUnchanged(
  deps: SearchDeps,
  index: Located,
  signal: AbortSignal,
): Promise<void> {
  const { source, sourceVersion, sourceCommitted } = index.info;
  if (sourceCommitted === undefined) return;
  const found = await deps.clients.catalog
    .getDataset({ name: source, version: BigInt(sourceVersion), omitFiles: true }, { signal })
    .catch((error: unknown) => {
      if (ConnectError.from(error).code === Code.NotFound) return undefined;
      throw error;
    });
  if (commitStamp(found?.dataset?.snapshot?.commitTime) !== sourceCommitted) {
    throw staleIndex(index);
  }
}

/**
 * Runs a statement over the snapshot an index was built from. A snapshot that
 * is gone (expired, or the dataset dropped and made again) makes the index
 * stale: FAILED_PRECONDITION INDEX_STALE, asking for a rebuild.
 */
async function readSource(
  deps: SearchDeps,
  index: Located,
  request: Parameters<typeof forEachJsonRow>[1],
  signal: AbortSignal,
  onRow: Parameters<typeof forEachJsonRow>[3],
): Promise<ReadReceipt[]> {
  try {
    return await forEachJsonRow(deps.clients.query, request, signal, onRow);
  } catch (error) {
    if (ConnectError.from(error).code !== Code.NotFound) throw error;
    throw staleIndex(index);
  }
}

function staleIndex(index: Located) {
  const { source, column, sourceVersion } = index.info;
  return serviceError(
    Code.FailedPrecondition,
    "INDEX_STALE",
    `the search index of ${source}.${column} was built from snapshot ${sourceVersion}, which no longer exists: build it again with BuildSearchIndex`,
    { dataset: source, column, version: String(sourceVersion) },
  );
}

function stringParameter(value: string) {
  return create(QueryParameterSchema, { value: { case: "stringValue", value } });
}

function uniqueReceipts(receipts: ReadReceipt[]): ReadReceipt[] {
  const seen = new Map<string, ReadReceipt>();
  for (const receipt of receipts) seen.set(`${receipt.dataset}@${receipt.version}`, receipt);
  return [...seen.values()];
}
