import { randomUUID } from "node:crypto";
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { type Duration, DurationSchema } from "@bufbuild/protobuf/wkt";
import { Code, type ConnectError, type HandlerContext } from "@connectrpc/connect";
import {
  type DuckDBPreparedStatement,
  type DuckDBResult,
  ResultReturnType,
} from "@duckdb/node-api";
import {
  type ExecuteQueryRequest,
  type ExecuteQueryResponse,
  ExecuteQueryResponseSchema,
  LimitBehavior,
  ResultFormat,
} from "../../gen/lakehouse/query/v1/query_pb.js";
import { serviceError } from "../kit/errors.js";
import { identityOf } from "../kit/identity/caller-identity.js";
import { describeFailure, type LogFields, type Logger } from "../kit/logger.js";
import { inSpan, lakehouseTracer, recordFailure } from "../kit/telemetry/tracer.js";
import { duckdbCall, interruption } from "./duckdb-errors.js";
import { bindParameters } from "./query-parameters.js";
import type { ResolvedQuery, StatementDeps } from "./query-resolution.js";
import { openQuerySession } from "./query-session.js";
import { resultColumns } from "./result-columns.js";
import { createResultEncoding, type EncodedBatch } from "./result-encoding.js";

/** Result limits from config. */
export interface ResultLimits {
  /** Rows one result may have; a request may ask for fewer. */
  readonly maxResultRows: number;
  /** Encoded bytes one result may have. */
  readonly maxResultBytes: number;
  /** Rows per batch message. */
  readonly batchRows: number;
  /** How long a message may wait for the client to read it before the query stops; 0 never. */
  readonly stalledReaderTimeoutMs: number;
}

/** What ExecuteQuery needs. */
export interface ExecuteQueryDeps extends StatementDeps {
  readonly limits: ResultLimits;
  /** Where each query's id, receipts and totals are logged, so a query_id leads to its line. */
  readonly logger?: Logger;
}

/**
 * ExecuteQuery: resolves the statement, runs it on a pooled connection and
 * streams header, batches and summary. DuckDB fills one chunk ahead while
 * the last is encoded and sent, and no further: a slow client holds at most
 * one batch and one chunk in memory. The call's signal interrupts DuckDB.
 */
export async function* executeQuery(
  deps: ExecuteQueryDeps,
  request: ExecuteQueryRequest,
  context: HandlerContext,
): AsyncGenerator<ExecuteQueryResponse> {
  const started = process.hrtime.bigint();
  const { signal } = context;
  const { limits } = deps;
  const queryId = randomUUID();
  // One line per query whatever its outcome, so a query_id leads to it:
  // finished; stopped (its client cancelled or stopped reading); or failed,
  // with the code and reason its client got.
  const subject = identityOf(context.values)?.subject;
  const logOutcome = (datasets: string[], fields: LogFields, failure: unknown) => {
    const line = {
      queryId,
      ...(subject === undefined ? {} : { subject }),
      datasets,
      ...fields,
      elapsedMs: Number(process.hrtime.bigint() - started) / 1e6,
    };
    if (failure === undefined) {
      deps.logger?.info(finished ? "query finished" : "query stopped", line);
      return;
    }
    const { level, code, reason, error } = describeFailure(failure);
    const outcome = code === Code[Code.Canceled] ? "query stopped" : "query failed";
    deps.logger?.[level](outcome, { ...line, code, ...(reason ? { reason } : {}), error });
  };
  let finished = false;
  const failedBeforeRun = (datasets: string[], error: unknown): never => {
    logOutcome(datasets, {}, error);
    throw error;
  };
  if (request.maxRows < 0n) {
    failedBeforeRun(
      [],
      serviceError(Code.InvalidArgument, "INVALID_MAX_ROWS", "max_rows must not be negative"),
    );
  }
  const maxRows =
    request.maxRows === 0n
      ? limits.maxResultRows
      : Math.min(Number(request.maxRows), limits.maxResultRows);
  const failOnLimit = request.onLimit === LimitBehavior.FAIL;
  const resolve = (optimistic: boolean) =>
    inSpan("query.resolve", { "lakehouse.query.id": queryId }, () =>
      deps.resolver.resolve(request.sql, {
        expectedSchemaFingerprints: request.expectedSchemaFingerprints,
        signal,
        caller: deps.callerOf?.(context),
        optimistic,
      }),
    );
  let resolved = await resolve(true).catch((error: unknown) => failedBeforeRun([], error));
  const session = await openQuerySession(deps.engine, signal).catch((error: unknown) => {
    resolved.release();
    return failedBeforeRun(datasetsOf(resolved), error);
  });
  let statement: DuckDBPreparedStatement | undefined;
  let rowCount = 0;
  let byteCount = 0;
  let truncated = false;
  // Why the query failed, once it has: the error its client gets.
  let failure: unknown;
  // A consumer that vanishes while the stream waits for it to read may never
  // resume this generator: release everything from the abort itself then.
  // While DuckDB works, the abort only interrupts it and the finally releases.
  let waitingForConsumer = false;
  // The chunk DuckDB is filling ahead, if any: the connection goes back to
  // the pool only once that fetch has settled.
  let prefetch: Promise<unknown> | undefined;
  let released = false;
  const releaseAll = async (unfinished: boolean) => {
    if (released) return;
    released = true;
    if (unfinished) session.connection.interrupt();
    await prefetch?.catch(() => undefined);
    statement?.destroySync();
    statement = undefined;
    session.close(unfinished);
    resolved.release();
    conclude();
  };
  const abandon = () => {
    if (waitingForConsumer) void releaseAll(true);
  };
  // Ends the span and logs the outcome once, from the finally or, for a
  // stream abandoned while it waited for its reader, from the abort.
  let concluded = false;
  const conclude = () => {
    if (concluded) return;
    concluded = true;
    execution.setAttributes({
      "db.response.returned_rows": rowCount,
      "lakehouse.query.bytes": byteCount,
      "lakehouse.query.truncated": truncated,
      "lakehouse.query.finished": finished,
    });
    execution.end();
    logOutcome(
      datasetsOf(resolved),
      { rows: rowCount, bytes: byteCount, truncated },
      finished ? undefined : failure,
    );
  };
  signal.addEventListener("abort", abandon, { once: true });
  // The statement's text is left out of the span: its literals may be personal
  // data; the query id leads to the log line and the receipts name the datasets.
  const execution = lakehouseTracer().startSpan("duckdb.query", {
    attributes: {
      "db.system.name": "duckdb",
      "db.operation.name": "SELECT",
      "lakehouse.query.id": queryId,
      "lakehouse.query.datasets": datasetsOf(resolved),
    },
  });
  // A client that stops reading without cancelling would hold a connection
  // until its deadline: past the stall timeout, the query is stopped and its
  // resources freed, and the client gets ABORTED if it ever reads again.
  let stalled: ConnectError | undefined;
  async function* send(response: ExecuteQueryResponse): AsyncGenerator<ExecuteQueryResponse> {
    waitingForConsumer = true;
    const timeoutMs = limits.stalledReaderTimeoutMs;
    const stallTimer =
      timeoutMs > 0
        ? setTimeout(() => {
            stalled = serviceError(
              Code.Aborted,
              "READER_STALLED",
              `the client read nothing for ${timeoutMs} ms, so the query was stopped`,
              { queryId, timeoutMs: String(timeoutMs) },
            );
            failure = stalled;
            void releaseAll(true);
          }, timeoutMs)
        : undefined;
    try {
      yield response;
    } finally {
      clearTimeout(stallTimer);
      waitingForConsumer = false;
    }
    if (stalled) throw stalled;
    if (signal.aborted) throw interruption(signal);
  }
  try {
    // The statement starts while the catalog confirms the snapshots it was
    // bound to; nothing is sent until they are confirmed. A snapshot that
    // moved on stops the run, and the statement is bound again and rerun.
    const start = async (): Promise<DuckDBResult> => {
      for (;;) {
        let superseded = false;
        const running = duckdbCall(async () => {
          statement = await session.connection.prepare(resolved.sql);
          bindParameters(statement, request.parameters);
          return superseded ? undefined : statement.stream();
        }, signal);
        // Read below once the snapshots are confirmed; DuckDB may fail before.
        running.catch(() => undefined);
        const current = await resolved.current.catch(async (error: unknown) => {
          session.connection.interrupt();
          await running.catch(() => undefined);
          throw error;
        });
        const result = current ? await running : undefined;
        if (result !== undefined) return result;
        superseded = true;
        session.connection.interrupt();
        await running.catch(() => undefined);
        statement?.destroySync();
        statement = undefined;
        resolved.release();
        resolved = await resolve(false);
        execution.setAttribute("lakehouse.query.datasets", datasetsOf(resolved));
      }
    };
    const result = await start();
    const names = result.columnNames();
    const types = await duckdbCall(() => result.columnTypes());
    const encoding = createResultEncoding(names, types, {
      format: request.format === ResultFormat.JSON ? "json" : "arrow",
      batchRows: limits.batchRows,
    });
    yield* send(
      message({
        case: "header",
        value: {
          arrowIpc: encoding.header,
          columns: resultColumns(names, types),
          receipts: [...resolved.receipts],
          queryId,
        },
      }),
    );
    let taken = 0;
    let bytesExhausted = false;
    const overLimit = (what: "rows" | "bytes") => {
      if (failOnLimit) {
        const limit = what === "rows" ? maxRows : limits.maxResultBytes;
        throw serviceError(
          Code.ResourceExhausted,
          "RESULT_TOO_LARGE",
          `the result exceeds the ${what} limit of ${limit}`,
          { limit: String(limit), unit: what, queryId },
        );
      }
      truncated = true;
    };
    /** Whether a batch fits the byte limit; counts it when it does. */
    const fits = (batch: EncodedBatch): boolean => {
      if (byteCount + batch.byteCount > limits.maxResultBytes) {
        overLimit("bytes");
        bytesExhausted = true;
        return false;
      }
      byteCount += batch.byteCount;
      rowCount += batch.rowCount;
      return true;
    };
    const fetchChunk = () => {
      const fetching = duckdbCall(() => result.fetchChunk(), signal);
      // Awaited on the next turn, or settled by releaseAll when the stream stops first.
      fetching.catch(() => undefined);
      prefetch = fetching;
      return fetching;
    };
    let next = fetchChunk();
    reading: for (;;) {
      const chunk = await next;
      if (chunk === null || chunk.rowCount === 0) {
        if (result.returnType === ResultReturnType.INVALID && statement !== undefined) {
          throw await streamFailure(statement, signal);
        }
        break;
      }
      // DuckDB fills the next chunk while this one is encoded and sent.
      next = fetchChunk();
      const room = maxRows - taken;
      if (room <= 0) {
        overLimit("rows");
        break;
      }
      const rows = Math.min(room, chunk.rowCount);
      taken += rows;
      for (const batch of encoding.add(chunk, rows)) {
        if (!fits(batch)) break reading;
        yield* send(message({ case: "batch", value: batchValue(batch) }));
      }
      if (rows < chunk.rowCount) {
        overLimit("rows");
        break;
      }
    }
    if (!bytesExhausted) {
      for (const batch of encoding.flush()) {
        if (!fits(batch)) break;
        yield* send(message({ case: "batch", value: batchValue(batch) }));
      }
    }
    finished = true;
    resolved.countRead();
    yield* send(
      message({
        case: "summary",
        value: {
          arrowIpc: encoding.trailer,
          rowCount: BigInt(rowCount),
          byteCount: BigInt(byteCount),
          elapsed: elapsedSince(started),
          truncated,
        },
      }),
    );
  } catch (error) {
    recordFailure(execution, error);
    failure ??= error;
    throw error;
  } finally {
    signal.removeEventListener("abort", abandon);
    await releaseAll(!finished);
  }
}

/**
 * The error of a statement whose result failed part-way. DuckDB ends such a
 * stream just like one that is done and keeps the error to itself; only the
 * result's return type turns INVALID. Running the statement again without
 * streaming surfaces DuckDB's message (the rows before the failure are held
 * in DuckDB's memory meanwhile, within its memory limit).
 */
async function streamFailure(
  statement: DuckDBPreparedStatement,
  signal: AbortSignal,
): Promise<unknown> {
  try {
    await duckdbCall(() => statement.run(), signal);
  } catch (error) {
    return error;
  }
  return serviceError(
    Code.Aborted,
    "RESULT_INCOMPLETE",
    "the query failed while its result was streamed, and did not fail when run again; retry it",
  );
}

/** The snapshots a query read, as logs and spans name them. */
function datasetsOf(resolved: ResolvedQuery): string[] {
  return resolved.receipts.map((receipt) => `${receipt.dataset}@${receipt.version}`);
}

function message(
  payload: MessageInitShape<typeof ExecuteQueryResponseSchema>["payload"],
): ExecuteQueryResponse {
  return create(ExecuteQueryResponseSchema, { payload });
}

function batchValue(batch: EncodedBatch) {
  return {
    arrowIpc: batch.arrowIpc ?? new Uint8Array(0),
    jsonRows: batch.jsonRows ?? [],
    rowCount: BigInt(batch.rowCount),
  };
}

function elapsedSince(started: bigint): Duration {
  const nanos = process.hrtime.bigint() - started;
  return create(DurationSchema, {
    seconds: nanos / 1_000_000_000n,
    nanos: Number(nanos % 1_000_000_000n),
  });
}
