import type { CypherExplain, CypherPlanStep } from '@faasprov/store';

/**
 * Plan operators a read-only query may use (Neo4j 5 names, without the @database suffix).
 * Anything else is refused by name: writes, LOAD CSV, SHOW/TERMINATE commands, CALL IN
 * TRANSACTIONS, and any operator a later Neo4j adds until it is reviewed here.
 */
const OPERATORS: readonly RegExp[] = [
  // scans and seeks
  /^(Multi|Intersection|Union|Subtraction)?Node(s)?(ByLabels?|ByIds?|ByElementIds?)?(Unique)?(Index)?(Scan|Seek|SeekByRange|ContainsScan|EndsWithScan)$/,
  /^AllNodesScan$/,
  /^(Directed|Undirected)(Union)?(All)?Relationship(s)?(Types?|ByIds?|ByElementIds?)?(Index)?(Scan|Seek|SeekByRange|ContainsScan|EndsWithScan)$/,
  /^(Node|Relationship)CountFromCountStore$/,
  // expansion
  /^(Optional)?Expand\((All|Into)\)$/,
  /^VarLengthExpand\((All|Into|Pruning)\)$/,
  /^(BFSPruningVarExpand|ShortestPath|LegacyShortestPath|StatefulShortestPath\((All|Into)\)|Trail|Repeat\(Trail\)|ProjectEndpoints|NullifyMetadata)$/,
  /^Triadic(Selection|Build|Filter)$/,
  // relational
  /^(Filter|Projection|Aggregation|EagerAggregation|OrderedAggregation|Sort|PartialSort|Top|Top1WithTies|PartialTop|Limit|ExhaustiveLimit|Skip|Distinct|OrderedDistinct|Unwind)$/,
  /^(Let)?(Select)?(Or)?(Anti)?(Semi)?Apply$/,
  /^(Anti)?ConditionalApply$/,
  /^(RollUpApply|Optional|CartesianProduct|NodeHashJoin|ValueHashJoin|Node(Left|Right)OuterHashJoin|Union|OrderedUnion)$/,
  /^(ProduceResults|Argument|CacheProperties|Eager|EmptyResult|EmptyRow|AssertSameNode|AssertSameRelationship|Anti)$/,
];

/** Read-only procedures: the schema of the graph, nothing about the server, users or files. */
const PROCEDURES: ReadonlySet<string> = new Set([
  'db.labels',
  'db.relationshipTypes',
  'db.propertyKeys',
  'db.schema.visualization',
  'db.schema.nodeTypeProperties',
  'db.schema.relTypeProperties',
]);

/**
 * Namespaced functions a query may call: Neo4j's built-ins that compute from their arguments
 * alone (temporal, duration, spatial, vector similarity). Every other namespace is refused:
 * plug-ins (`apoc.*`, `gds.*`), `db.*`, `dbms.*`, `graph.*` and any user-defined function, since
 * such code may read files, URLs or the server's state. Functions outside a namespace are
 * Neo4j's own (user-defined functions must have a namespace).
 */
const FUNCTION_NAMESPACES: readonly string[] = ['date.', 'datetime.', 'localdatetime.', 'localtime.', 'time.', 'duration.', 'point.', 'vector.similarity.'];

/** A call of a namespaced function in a plan's details (Neo4j prints them without backticks, literals as parameters). */
const NAMESPACED_CALL = /(?<![\w.$`])((?:[A-Za-z_]\w*\.)+[A-Za-z_]\w*)\(/g;

function refusedFunction(details: string): string | undefined {
  for (const m of details.matchAll(NAMESPACED_CALL)) {
    const name = m[1]!;
    if (!FUNCTION_NAMESPACES.some((ns) => name.startsWith(ns))) return name;
  }
  return undefined;
}

function* steps(p: CypherPlanStep): Generator<CypherPlanStep> {
  yield p;
  for (const c of p.children) yield* steps(c);
}

/**
 * Why a planned query may not run on the Cypher route, or undefined when it may: it must be
 * a read (query type r), on the store's own database, made only of allowed operators,
 * procedures and namespaced functions.
 */
export function cypherRefusal(x: CypherExplain): string | undefined {
  if (x.queryType !== 'r') return `only read queries run here (this one is of type ${x.queryType})`;
  if (!x.plan) return 'the query has no plan';
  for (const s of steps(x.plan)) {
    if (s.database !== undefined && s.database !== x.database) return `the query reads another database (${s.database})`;
    if (s.operator === 'ProcedureCall') {
      const name = s.details.match(/^\s*([A-Za-z0-9_.`]+)\s*\(/)?.[1]?.replaceAll('`', '');
      if (!name || !PROCEDURES.has(name)) return `procedure ${name ?? s.details.slice(0, 60)} is not on the allow-list (${[...PROCEDURES].join(', ')})`;
    } else if (!OPERATORS.some((re) => re.test(s.operator))) return `${s.operator} is not allowed (no LOAD CSV, writes, administration or transaction commands)`;
    // The procedure's own name is checked above; its arguments and every other expression here.
    const fn = refusedFunction(s.operator === 'ProcedureCall' ? s.details.replace(/^\s*[A-Za-z0-9_.`]+\s*\(/, '(') : s.details);
    if (fn) return `function ${fn} is not on the allow-list (namespaces ${FUNCTION_NAMESPACES.map((ns) => `${ns}*`).join(', ')}; functions without a namespace)`;
  }
  return undefined;
}
