import { describe, expect, it } from '@jest/globals';
import type { CypherPlanStep } from '@faasprov/store';
import { cypherRefusal } from './cypher-policy.js';

/** A plan as Neo4j 5 prints it for EXPLAIN: operator@database, details with literals as parameters. */
const plan = (...steps: [string, string][]): CypherPlanStep =>
  steps.reduceRight<CypherPlanStep | undefined>((child, [operator, details]) => ({ operator, database: 'neo4j', details, children: child ? [child] : [] }), undefined)!;
const explain = (...steps: [string, string][]) => ({ queryType: 'r', database: 'neo4j', plan: plan(...steps) });

describe('Cypher policy: function namespaces', () => {
  it.each([
    ['apoc.text.join($autolist_0, $autostring_1) AS x', 'apoc.text.join'],
    ['apoc.load.json($autostring_0) AS x', 'apoc.load.json'],
    ['db.nameFromElementId(elementId(n)) AS x', 'db.nameFromElementId'],
    ['dbms.components() AS x', 'dbms.components'],
    ['gds.similarity.cosine(a, b) AS x', 'gds.similarity.cosine'],
    ['graph.names() AS g', 'graph.names'],
    ['my.udf(n.path) AS x', 'my.udf'],
    ['toUpper(apoc.util.md5([n.path])) AS x', 'apoc.util.md5'],
    ['[y IN range($autoint_0, $autoint_1) | apoc.convert.toJson(y)] AS x', 'apoc.convert.toJson'],
  ])('refuses %s', (details, name) => {
    const why = cypherRefusal(explain(['ProduceResults', 'x'], ['Projection', details]));
    expect(why).toContain(`function ${name} is not on the allow-list`);
  });

  it('looks at every operator and at the arguments of an allowed procedure', () => {
    expect(cypherRefusal(explain(['ProduceResults', 'n'], ['Filter', 'apoc.text.regexGroups(n.path, $autostring_0) IS NOT NULL'], ['AllNodesScan', 'n']))).toContain('apoc.text.regexGroups');
    expect(cypherRefusal(explain(['ProduceResults', 'label'], ['ProcedureCall', 'db.labels() :: (label :: STRING)']))).toBeUndefined();
    expect(cypherRefusal(explain(['ProduceResults', 'x'], ['ProcedureCall', 'db.schema.nodeTypeProperties(apoc.x.y()) :: (nodeType :: STRING)']))).toContain('function apoc.x.y');
  });

  it("allows Neo4j's own functions, with or without a namespace", () => {
    for (const details of [
      'datetime.fromepochmillis($autoint_0) AS b, toUpper($autostring_1) AS c, datetime.fromepoch($autoint_2, $autoint_3) AS d',
      '[y IN range($autoint_4, $autoint_5) | point.distance(point({x: y, y: $autoint_1}), point({x: $autoint_2, y: $autoint_3}))] AS d',
      'duration.between(date.truncate($autostring_0, date()), localtime.realtime()) AS d, vector.similarity.cosine(a, b) AS s',
      'count(n) AS n, collect(DISTINCT n.path) AS paths, elementId(n) AS e',
    ]) expect(cypherRefusal(explain(['ProduceResults', 'x'], ['Projection', details], ['NodeIndexSeek', 'RANGE INDEX n:File(path) WHERE path = $p']))).toBeUndefined();
  });
});
