import { create } from "@bufbuild/protobuf";
import {
  DuckDBArrayType,
  DuckDBListType,
  DuckDBMapType,
  DuckDBStructType,
  type DuckDBType,
  DuckDBUnionType,
} from "@duckdb/node-api";
import { type ResultColumn, ResultColumnSchema } from "../../gen/lakehouse/query/v1/query_pb.js";

/** The `ResultColumn`s of a result: names with their types as DuckDB's DESCRIBE spells them. */
export function resultColumns(
  names: readonly string[],
  types: readonly DuckDBType[],
): ResultColumn[] {
  return names.map((name, index) => {
    const type = types[index];
    return create(ResultColumnSchema, {
      name,
      type: type === undefined ? "" : describedTypeName(type),
    });
  });
}

/**
 * A type's text exactly as DuckDB's DESCRIBE (and so catalogd's schemas and
 * `lakehouse schema`) renders it, so a client can compare a result's columns
 * with a dataset's fields as text: an alias such as `JSON` in place of the
 * type it stands for, and nested field names quoted only where DuckDB
 * quotes them (`STRUCT(a BIGINT, "my col" VARCHAR)`). DuckDB's own
 * `toString()` of the node API quotes every name and drops aliases.
 */
export function describedTypeName(type: DuckDBType): string {
  if (type.alias !== undefined && type.alias !== "") return type.alias;
  if (type instanceof DuckDBStructType) {
    const entries = type.entryTypes.map((entry, i) => ({
      name: type.entryNames[i] ?? "",
      type: describedTypeName(entry),
    }));
    // A struct built without names (`row(1, 'a')`) is shown by its types alone.
    if (entries.every((entry) => entry.name === "")) {
      return `STRUCT(${entries.map((entry) => entry.type).join(", ")})`;
    }
    return `STRUCT(${entries.map((entry) => `${optionallyQuoted(entry.name)} ${entry.type}`).join(", ")})`;
  }
  if (type instanceof DuckDBUnionType) {
    const members = type.memberTypes.map(
      (member, i) => `${optionallyQuoted(type.memberTags[i] ?? "")} ${describedTypeName(member)}`,
    );
    return `UNION(${members.join(", ")})`;
  }
  if (type instanceof DuckDBListType) return `${describedTypeName(type.valueType)}[]`;
  if (type instanceof DuckDBArrayType) {
    return `${describedTypeName(type.valueType)}[${type.length}]`;
  }
  if (type instanceof DuckDBMapType) {
    return `MAP(${describedTypeName(type.keyType)}, ${describedTypeName(type.valueType)})`;
  }
  // Scalars, DECIMAL(w,s) and ENUM('a', 'b''c') already read as DuckDB writes them.
  return type.toString();
}

/**
 * A name as DuckDB writes it in a type: bare when it is letters, digits
 * (not first) and underscores and no keyword; otherwise double-quoted with
 * inner quotes doubled.
 */
function optionallyQuoted(name: string): string {
  const bare =
    name === "" ||
    (/^[A-Za-z_][A-Za-z0-9_]*$/.test(name) && !duckdbKeywords.has(name.toLowerCase()));
  if (bare) return name;
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * Every word DuckDB's parser knows as a keyword, of any category
 * (`SELECT keyword_name FROM duckdb_keywords()`): DuckDB quotes each one
 * where it is a name. A test keeps this list equal to the installed DuckDB's.
 */
export const duckdbKeywords: ReadonlySet<string> = new Set(
  `
abort absolute access action add admin after aggregate all also alter always analyse
analyze and anti any array as asc asof assertion assignment asymmetric at attach attribute
authorization backward before begin between bigint binary bit boolean both by cache call
called cascade cascaded case cast catalog centuries century chain char character
characteristics check checkpoint class close cluster coalesce collate collation column
columns comment comments commit committed compression concurrently configuration conflict
connection constraint constraints content continue conversion copy cost create cross csv
cube current cursor cycle data database day days deallocate dec decade decades decimal
declare default defaults deferrable deferred definer delete delimiter delimiters depends
desc describe detach dictionary disable discard distinct do document domain double drop
each else enable encoding encrypted end enum error escape event except exclude excluding
exclusive execute exists explain export export_state extension extensions external extract
false family fetch filter first float following for force foreign forward freeze from full
function functions generated glob global grant granted group grouping grouping_id groups
handler having header hold hour hours identity if ignore ilike immediate immutable
implicit import in include including increment index indexes inherit inherits initially
inline inner inout input insensitive insert install instead int integer intersect interval
into invoker is isnull isolation join json key label lambda language large last lateral
leading leakproof left level like limit listen load local location lock locked logged
macro map mapping match matched materialized maxvalue merge method microsecond
microseconds millennia millennium millisecond milliseconds minute minutes minvalue mode
month months move name names national natural nchar new next no none not nothing notify
notnull nowait null nullif nulls numeric object of off offset oids old on only operator
option options or order ordinality others out outer over overlaps overlay overriding owned
owner parallel parser partial partition partitioned passing password percent persistent
pivot pivot_longer pivot_wider placing plans policy position positional pragma preceding
precision prepare prepared preserve primary prior privileges procedural procedure program
publication qualify quarter quarters quote range read real reassign recheck recursive ref
references referencing refresh reindex relative release rename repeatable replace replica
reset respect restart restrict returning returns revoke right role rollback rollup row
rows rule sample savepoint schema schemas scope scroll search second seconds secret
security select semi sequence sequences serializable server session set setof sets share
show similar simple skip smallint snapshot some sorted source sql stable standalone start
statement statistics stdin stdout storage stored strict strip struct subscription
substring summarize symmetric sysid system table tables tablesample tablespace target temp
template temporary text then ties time timestamp to trailing transaction transform treat
trigger trim true truncate trusted try_cast type types unbounded uncommitted unencrypted
union unique unknown unlisten unlogged unpack unpivot until update use user using vacuum
valid validate validator value values varchar variable variadic varying verbose version
view views virtual volatile week weeks when where whitespace window with within without
work wrapper write xml xmlattributes xmlconcat xmlelement xmlexists xmlforest
xmlnamespaces xmlparse xmlpi xmlroot xmlserialize xmltable year years yes zone
`
    .split(/\s+/)
    .filter((word) => word !== ""),
);
