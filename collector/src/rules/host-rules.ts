import type { Batch, GraphNode } from '@faasprov/model';
import type { Rule } from './rules.js';

type HostRule = Extract<Rule, { kind: 'file-open' | 'link-to' | 'fileless-exec' | 'namespace-change' | 'raw-socket' | 'ptrace' | 'exec-env' }>;
type Hit = (time: number, summary: string, subject: GraphNode, object?: GraphNode) => void;

const HOST_KINDS: ReadonlySet<string> = new Set(['file-open', 'link-to', 'fileless-exec', 'namespace-change', 'raw-socket', 'ptrace', 'exec-env']);
/** What exec ran when it came through an fd rather than a path. */
const EXEC_FD = /^\/(?:proc\/[^/]+\/fd|dev\/fd)\/\d+$/;

export function isHostRule(rule: Rule): rule is HostRule {
  return HOST_KINDS.has(rule.kind);
}

/**
 * The host detections (collector/rules/default.json): sensitive opens and attempts, links to
 * sensitive files, fileless exec, namespace changes, raw sockets, ptrace, dangerous exec variables.
 * Each finding names the operation's subject and object, so the alert's backward trace shows how.
 */
export function hostFindings(rule: HostRule, batch: Batch, nodes: Map<string, GraphNode>, label: (n: GraphNode) => string, hit: Hit): void {
  switch (rule.kind) {
    case 'file-open':
      for (const e of batch.edges) {
        if ((e.type !== 'USED' && e.type !== 'WAS_GENERATED_BY') || (e.attrs?.openFlags === undefined && e.attrs?.rc === undefined)) continue;
        const [actor, file] = e.type === 'USED' ? [nodes.get(e.from), nodes.get(e.to)] : [nodes.get(e.to), nodes.get(e.from)];
        if (file?.type !== 'File' || !actor || !rule.match!(file.path)) continue;
        const how = e.attrs.rc !== undefined ? `tried to open (error ${-e.attrs.rc})` : 'opened';
        hit(e.firstTime, `${label(actor)} ${how} ${label(file)}`, actor, file);
      }
      return;
    case 'link-to':
      for (const e of batch.edges) {
        if (e.type !== 'WAS_GENERATED_BY') continue;
        const link = nodes.get(e.from);
        const actor = nodes.get(e.to);
        if (link?.type !== 'File' || !actor || link.linkTarget === undefined) continue;
        if (!rule.match!(link.linkTarget) && !rule.match!(link.path)) continue;
        hit(e.firstTime, `${label(actor)} made ${link.fileType === 'symlink' ? 'a symbolic' : 'a hard'} link ${link.path} to ${link.linkTarget}`, actor, link);
      }
      return;
    case 'fileless-exec':
      for (const e of batch.edges) {
        if (e.type !== 'USED' || !e.attrs?.exec) continue;
        const image = nodes.get(e.from);
        const file = nodes.get(e.to);
        if (image?.type !== 'Process' || file?.type !== 'File') continue;
        if (file.fileType !== 'memfd' && !EXEC_FD.test(image.exe)) continue;
        hit(e.firstTime, `${label(image)} runs code from ${file.fileType === 'memfd' ? 'memory' : 'a file descriptor'} (${label(file)})`, image, file);
      }
      return;
    case 'namespace-change':
      for (const n of batch.nodes) {
        if (n.type !== 'Process' || n.nsChanged === undefined) continue;
        hit(n.nsChanged, `${label(n)} changed namespaces (flags 0x${(n.nsFlags ?? 0).toString(16)})`, n);
      }
      return;
    case 'raw-socket':
      for (const e of batch.edges) {
        if (e.type !== 'USED') continue;
        const ep = nodes.get(e.to);
        const actor = nodes.get(e.from);
        if (ep?.type !== 'Endpoint' || ep.socketKind === undefined || !actor) continue;
        hit(e.firstTime, `${label(actor)} opened a ${ep.socketKind} socket (${ep.address}, protocol ${ep.port})`, actor, ep);
      }
      return;
    case 'ptrace':
      for (const e of batch.edges) {
        // PTRACE_TRACEME (0) is raised on the process below.
        if (e.type !== 'WAS_INFORMED_BY' || !e.attrs?.ptrace) continue;
        const target = nodes.get(e.from);
        const tracer = nodes.get(e.to);
        if (!target || !tracer) continue;
        hit(e.firstTime, `${label(tracer)} traced ${label(target)} (ptrace request ${e.attrs.ptrace})`, tracer, target);
      }
      for (const n of batch.nodes) {
        if (n.type !== 'Process' || n.traceme === undefined) continue;
        hit(n.traceme, `${label(n)} asked to be traced (PTRACE_TRACEME, an anti-debugging check)`, n);
      }
      return;
    case 'exec-env':
      for (const n of batch.nodes) {
        if (n.type !== 'Process' || !n.env) continue;
        const named = n.env.map((v) => v.slice(0, v.indexOf('='))).filter((name) => rule.variables.includes(name));
        if (named.length > 0) hit(n.start, `${label(n)} was started with ${named.join(', ')} set`, n);
      }
      return;
  }
}
