import { open } from "node:fs/promises";
import { create } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import {
  DuckDBArrayType,
  type DuckDBConnection,
  DuckDBListType,
  DuckDBMapType,
  DuckDBStructType,
  type DuckDBType,
} from "@duckdb/node-api";
import {
  type ColumnStats,
  ColumnStatsSchema,
  type Field,
  FieldSchema,
  type Schema,
  SchemaSchema,
} from "../../gen/lakehouse/catalog/v1/catalog_pb.js";
import { serviceError } from "../kit/errors.js";
import { sqlString } from "../kit/sql-text.js";
import { type CatalogDuckDB, duckdbError } from "./catalog-duckdb.js";
import { mergeColumnStats, type StatsPart } from "./column-stats.js";

/** What catalogd learns about a Parquet file from its footer alone. */
export interface ParquetFooter {
  readonly schema: Schema;
  readonly rowCount: bigint;
  /** One entry per top-level column, in schema order. */
  readonly columnStats: ColumnStats[];
}

const PARQUET_MAGIC = Buffer.from("PAR1", "ascii");

/** One element of the flat `parquet_schema` listing, rebuilt into a tree. */
interface SchemaNode {
  readonly name: string;
  readonly repetition: string;
  readonly children: SchemaNode[];
}

/**
 * Reads a local Parquet file's schema (DuckDB logical types, nullability, nested
 * children), row count and per-column statistics without scanning its data.
 *
 * @throws ConnectError INVALID_ARGUMENT, reason NOT_PARQUET, when the file is not Parquet
 *   or its footer cannot be read.
 */
export async function readParquetFooter(db: CatalogDuckDB, path: string): Promise<ParquetFooter> {
  await assertParquetMagic(path);
  return db.withConnection(async (connection) =>
    describeFooter(connection, await listFooter(connection, path)),
  );
}

/** Parquet files start and end with `PAR1`; checking first keeps DuckDB off other bytes. */
async function assertParquetMagic(path: string): Promise<void> {
  const file = await open(path, "r");
  try {
    const { size } = await file.stat();
    const head = Buffer.alloc(4);
    const tail = Buffer.alloc(4);
    if (size >= 12) {
      await file.read(head, 0, 4, 0);
      await file.read(tail, 0, 4, size - 4);
    }
    if (!head.equals(PARQUET_MAGIC) || !tail.equals(PARQUET_MAGIC)) {
      throw serviceError(
        Code.InvalidArgument,
        "NOT_PARQUET",
        "the object is not a Parquet file (no PAR1 magic bytes)",
      );
    }
  } finally {
    await file.close();
  }
}

/** The footer as DuckDB lists it, before catalogd interprets it. */
interface FooterListing {
  readonly names: string[];
  readonly types: DuckDBType[];
  readonly schemaRows: Record<string, unknown>[];
  readonly rowCount: bigint;
  readonly statsRows: Record<string, unknown>[];
}

/**
 * Everything catalogd reads from the file itself. Only a failure here means the file is
 * unreadable (NOT_PARQUET); later steps work on these listings, so their failures are
 * catalogd's own and stay unexpected errors.
 */
async function listFooter(connection: DuckDBConnection, path: string): Promise<FooterListing> {
  const source = sqlString(path);
  try {
    const columns = await connection.runAndReadAll(`SELECT * FROM read_parquet(${source}) LIMIT 0`);
    const schemaRows = await connection.runAndReadAll(
      `SELECT name, repetition_type, coalesce(num_children, 0)::INTEGER AS n FROM parquet_schema(${source})`,
    );
    const fileRows = await connection.runAndReadAll(
      `SELECT num_rows::BIGINT AS n FROM parquet_file_metadata(${source})`,
    );
    const statsRows = await connection.runAndReadAll(
      `SELECT row_group_id::BIGINT AS rg, row_group_num_rows::BIGINT AS rows, column_id::INTEGER AS col,
              stats_min_value AS min, stats_max_value AS max, stats_null_count::BIGINT AS nulls
       FROM parquet_metadata(${source}) ORDER BY rg, col`,
    );
    return {
      names: columns.columnNames(),
      types: columns.columnTypes(),
      schemaRows: schemaRows.getRowObjectsJS(),
      rowCount: BigInt((fileRows.getRowObjectsJS()[0]?.n as bigint | undefined) ?? 0n),
      statsRows: statsRows.getRowObjectsJS(),
    };
  } catch (error) {
    throw duckdbError(error, "NOT_PARQUET", "the object is not a readable Parquet file", [path]);
  }
}

/** Turns the listings into catalogd's schema and statistics (types rendered by DuckDB). */
async function describeFooter(
  connection: DuckDBConnection,
  listing: FooterListing,
): Promise<ParquetFooter> {
  const { names, types } = listing;
  const root = buildSchemaTree(listing.schemaRows);

  const typeNodes: DuckDBType[] = [];
  const collect = (column: string, type: DuckDBType) => {
    typeNodes.push(type);
    for (const child of childTypes(type)) {
      if (child.name === "") throw unnamedField(column);
      collect(column, child.type);
    }
  };
  for (const [i, type] of types.entries()) collect(names[i] ?? "", type);
  const rendered = await renderTypes(connection, typeNodes);
  let next = 0;
  const leafIds: (number | undefined)[] = [];
  let leaf = 0;
  const toField = (name: string, type: DuckDBType, node: SchemaNode | undefined): Field => {
    const typeName = rendered[next++] ?? type.toString();
    const children = childTypes(type);
    const childNodes = childSchemaNodes(type, node);
    if (children.length === 0) leaf++;
    return create(FieldSchema, {
      name,
      type: typeName,
      nullable: node === undefined || node.repetition !== "REQUIRED",
      children: children.map((child, i) => toField(child.name, child.type, childNodes[i])),
    });
  };
  const fields = types.map((type, i) => {
    const firstLeaf = leaf;
    const field = toField(names[i] ?? "", type, root.children[i]);
    leafIds.push(field.children.length === 0 ? firstLeaf : undefined);
    return field;
  });

  const columnStats = await readColumnStats(connection, listing.statsRows, fields, leafIds);
  return { schema: create(SchemaSchema, { fields }), rowCount: listing.rowCount, columnStats };
}

/**
 * A struct field without a name (DuckDB writes a UNION column to Parquet so) has no
 * name a schema or a query could use.
 */
function unnamedField(column: string) {
  return serviceError(
    Code.InvalidArgument,
    "UNNAMED_FIELD",
    `column "${column}" has a nested field without a name (a UNION column written to Parquet has one); give every struct field a name`,
    { column },
  );
}

/** The nested entries of a DuckDB type, named as the Field children are. */
function childTypes(type: DuckDBType): { name: string; type: DuckDBType }[] {
  if (type instanceof DuckDBStructType) {
    return type.entryNames.map((name, i) => ({ name, type: type.entryTypes[i] as DuckDBType }));
  }
  if (type instanceof DuckDBListType || type instanceof DuckDBArrayType) {
    return [{ name: "element", type: type.valueType }];
  }
  if (type instanceof DuckDBMapType) {
    return [
      { name: "key", type: type.keyType },
      { name: "value", type: type.valueType },
    ];
  }
  return [];
}

/**
 * The Parquet schema nodes holding the nullability of a type's children: lists and maps
 * put a repeated group between a column and its elements (two levels for legacy lists).
 */
function childSchemaNodes(
  type: DuckDBType,
  node: SchemaNode | undefined,
): (SchemaNode | undefined)[] {
  if (node === undefined) return [];
  if (type instanceof DuckDBStructType) {
    return type.entryNames.map(
      (name, i) => node.children.find((c) => c.name === name) ?? node.children[i],
    );
  }
  const repeated = node.children[0];
  if (repeated === undefined) return [];
  if (type instanceof DuckDBListType || type instanceof DuckDBArrayType) {
    if (repeated.children.length === 1) return [repeated.children[0]];
    return [{ name: "element", repetition: "REQUIRED", children: repeated.children }];
  }
  if (type instanceof DuckDBMapType) return [repeated.children[0], repeated.children[1]];
  return [];
}

/** Rebuilds the depth-first `parquet_schema` rows into a tree; the root is the file schema. */
function buildSchemaTree(rows: Record<string, unknown>[]): SchemaNode {
  let index = 0;
  const build = (): SchemaNode => {
    const row = rows[index++];
    const node: SchemaNode = {
      name: String(row?.name ?? ""),
      repetition: String(row?.repetition_type ?? "OPTIONAL"),
      children: [],
    };
    const count = Number(row?.n ?? 0);
    for (let i = 0; i < count && index < rows.length; i++) node.children.push(build());
    return node;
  };
  return build();
}

/**
 * Renders types exactly as DuckDB itself names them (`typeof`), so type strings, and
 * therefore fingerprints, never depend on this client library's own formatting.
 */
async function renderTypes(connection: DuckDBConnection, types: DuckDBType[]): Promise<string[]> {
  if (types.length === 0) return [];
  const selects = types.map((type, i) => `typeof(NULL::${type.toString()}) AS t${i}`);
  const reader = await connection.runAndReadAll(`SELECT ${selects.join(", ")}`);
  return (reader.getRows()[0] ?? []).map(String);
}

/**
 * Statistics of the top-level primitive columns from the footer's row-group statistics
 * (`parquet_metadata` rows); nested columns get unknown statistics (empty min/max, null_count -1).
 */
async function readColumnStats(
  connection: DuckDBConnection,
  statsRows: Record<string, unknown>[],
  fields: Field[],
  leafIds: (number | undefined)[],
): Promise<ColumnStats[]> {
  const rowGroups = new Map<
    bigint,
    { rows: bigint; byColumn: Map<number, Record<string, unknown>> }
  >();
  for (const row of statsRows) {
    const id = row.rg as bigint;
    const group = rowGroups.get(id) ?? { rows: row.rows as bigint, byColumn: new Map() };
    group.byColumn.set(row.col as number, row);
    rowGroups.set(id, group);
  }
  const primitive = fields.filter((_, i) => leafIds[i] !== undefined);
  const parts: StatsPart[] = [...rowGroups.values()].map((group) => ({
    rowCount: group.rows,
    columnStats: fields.flatMap((field, i) => {
      const leafId = leafIds[i];
      const row = leafId === undefined ? undefined : group.byColumn.get(leafId);
      if (row === undefined) return [];
      return [
        create(ColumnStatsSchema, {
          column: field.name,
          min: typeof row.min === "string" ? row.min : "",
          max: typeof row.max === "string" ? row.max : "",
          nullCount: typeof row.nulls === "bigint" ? row.nulls : -1n,
        }),
      ];
    }),
  }));
  const merged = await mergeColumnStats(connection, primitive, parts);
  return fields.map(
    (field) =>
      merged.find((m) => m.column === field.name) ??
      create(ColumnStatsSchema, { column: field.name, min: "", max: "", nullCount: -1n }),
  );
}
