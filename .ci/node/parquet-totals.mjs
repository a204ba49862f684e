// Reads the Parquet files under a directory with DuckDB, as an engine
// that reads Hive partitions would, and prints the row count, the counts
// by cause and the types DuckDB gives some columns, as JSON: what
// report/parquet's TestDuckDB compares with the JSON Lines.
//
// node .ci/node/parquet-totals.mjs DIR
import { DuckDBInstance } from '@duckdb/node-api';

const dir = process.argv[2];
if (!dir) {
	console.error('usage: node parquet-totals.mjs DIR');
	process.exit(2);
}
const db = await DuckDBInstance.create(':memory:');
const c = await db.connect();
const glob = `${dir.replaceAll("'", "''")}/**/*.parquet`;
await c.run(`create view r as select * from read_parquet('${glob}', hive_partitioning = true)`);
const one = async (sql) => (await c.runAndReadAll(sql)).getRowObjects();

const [{ n }] = await one('select count(*) as n from r');
const causes = {};
for (const { cause, n } of await one('select cause, count(*) as n from r group by cause')) {
	causes[cause] = Number(n);
}
const types = {};
for (const { column_name, column_type } of await one('describe r')) {
	types[column_name] = column_type;
}
const want = ['time', 'sport', 'evidence', 'cause', 'confidence', 'date', 'followup_of'];
console.log(JSON.stringify({
	rows: Number(n),
	causes,
	Types: Object.fromEntries(want.map((k) => [k, types[k]])),
}));
