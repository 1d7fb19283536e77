/**
 * Draws the data flow (section 6) as an inline SVG: the request path left to right, the sign-in
 * above it, the audit sinks below. Absent nodes are drawn dashed and grey with "not in app";
 * edges are solid when the templates prove the link, dashed when both ends exist but the link
 * is not shown by a reference, and faint when an end is missing. Everything text is escaped.
 */
import { escapeHtml } from './escape';
import { DataFlow, FlowEdge, FlowNode, FlowNodeId } from './model';

const W = 140;
const H = 66;
const COL = 200;
const X0 = 14;
const ROWS = [18, 150, 292, 410];

const POSITION: Record<FlowNodeId, [number, number]> = {
  identity: [3, 0],
  client: [0, 1],
  waf: [1, 1],
  api: [2, 1],
  authorizer: [3, 1],
  proxy: [4, 1],
  vpce: [5, 1],
  healthlake: [6, 1],
  'waf-logs': [1, 2],
  'access-logs': [2, 2],
  'audit-events': [4, 2],
  'flow-logs': [5, 2],
  trail: [6, 2],
  'trail-storage': [6, 3],
};

function box(id: FlowNodeId): { x: number; y: number } {
  const [col, row] = POSITION[id];
  return { x: X0 + col * COL, y: ROWS[row] };
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function nodeSvg(n: FlowNode): string {
  const { x, y } = box(n.id);
  const cls = `node ${n.kind}${n.present ? '' : ' absent'}`;
  const first = n.resources[0];
  const sub = !n.present ? 'not in app' : n.kind === 'external' ? 'outside the app' : truncate(first?.logicalId ?? first?.path ?? '', 20);
  const more = n.resources.length > 1 ? `+${n.resources.length - 1} more` : n.present && n.kind !== 'external' ? (first?.type ?? '').replace(/^AWS::/, '') : '';
  const tooltip = n.present
    ? `${n.label}: ${n.resources.map((r) => `${r.path} (${r.type ?? ''})`).join('; ') || 'outside the app'}`
    : `${n.label}: absent. Looked for ${n.lookedFor}.`;
  return [
    `<g class="${cls}" data-node="${escapeHtml(n.id)}" data-present="${n.present}">`,
    `<title>${escapeHtml(tooltip)}</title>`,
    `<rect x="${x}" y="${y}" width="${W}" height="${H}" rx="8"/>`,
    `<text class="label" x="${x + W / 2}" y="${y + 22}">${escapeHtml(n.label)}</text>`,
    `<text class="sub" x="${x + W / 2}" y="${y + 40}">${escapeHtml(sub)}</text>`,
    more ? `<text class="sub" x="${x + W / 2}" y="${y + 55}">${escapeHtml(truncate(more, 22))}</text>` : '',
    '</g>',
  ].join('');
}

/** Anchor points for an edge between two boxes: horizontal neighbours side to side, otherwise top/bottom. */
function edgePath(e: FlowEdge): { d: string; lx: number; ly: number; anchor?: string } {
  const a = box(e.from);
  const b = box(e.to);
  if (a.y === b.y) {
    const x1 = a.x < b.x ? a.x + W : a.x;
    const x2 = a.x < b.x ? b.x : b.x + W;
    const y = a.y + H / 2;
    return { d: `M${x1},${y} L${x2},${y}`, lx: (x1 + x2) / 2, ly: y - 7 };
  }
  if (a.x === b.x) {
    const down = a.y < b.y;
    const y1 = down ? a.y + H : a.y;
    const y2 = down ? b.y : b.y + H;
    const x = a.x + W / 2;
    return { d: `M${x},${y1} L${x},${y2}`, lx: x + 6, ly: (y1 + y2) / 2 + 4, anchor: 'start' };
  }
  // Elbow: leave from the top or bottom of `from`, arrive at the side of `to`.
  const up = b.y < a.y;
  const x1 = a.x + W / 2;
  const y1 = up ? a.y : a.y + H;
  const y2 = b.y + H / 2;
  const x2 = b.x < a.x ? b.x + W : b.x;
  return { d: `M${x1},${y1} L${x1},${y2} L${x2},${y2}`, lx: (x1 + x2) / 2, ly: y2 - 7 };
}

function edgeSvg(e: FlowEdge): string {
  const { d, lx, ly, anchor } = edgePath(e);
  const state = !e.present ? 'missing' : e.verified ? 'verified' : 'unverified';
  const title = `${e.from} → ${e.to}: ${!e.present ? 'an end is absent' : e.verified ? 'link found in the templates' : 'both ends exist; the link is not shown by a reference'}`;
  const label = e.label ? `<text class="edge-label" x="${lx}" y="${ly}"${anchor ? ` text-anchor="${anchor}"` : ''}>${escapeHtml(e.label)}</text>` : '';
  return `<g class="edge ${e.kind} ${state}" data-edge="${escapeHtml(`${e.from}->${e.to}`)}"><title>${escapeHtml(title)}</title><path d="${d}" marker-end="url(#arrow-${state})"/>${label}</g>`;
}

/** The whole SVG element (inline; no external references). */
export function renderDataFlowSvg(flow: DataFlow): string {
  const width = X0 * 2 + 6 * COL + W;
  const height = ROWS[3] + H + 58;
  const absent = flow.nodes.filter((n) => !n.present).map((n) => n.label);
  const desc = `Request path: ${flow.nodes.filter((n) => n.kind === 'request' || n.kind === 'external').map((n) => `${n.label}${n.present ? '' : ' (absent)'}`).join(' → ')}. `
    + (absent.length > 0 ? `Absent: ${absent.join(', ')}.` : 'Every node is present.');
  const marker = (state: string): string =>
    `<marker id="arrow-${state}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path class="arrow ${state}" d="M0,0 L10,5 L0,10 z"/></marker>`;
  const legendY = ROWS[3] + H + 26;
  const legend = [
    `<g class="legend" transform="translate(${X0},${legendY})">`,
    '<g class="edge request verified"><path d="M0,0 L34,0" marker-end="url(#arrow-verified)"/></g><text x="42" y="4">link found in the templates</text>',
    '<g class="edge request unverified"><path d="M230,0 L264,0" marker-end="url(#arrow-unverified)"/></g><text x="272" y="4">both ends exist, link not proven</text>',
    '<g class="edge request missing"><path d="M490,0 L524,0" marker-end="url(#arrow-missing)"/></g><text x="532" y="4">an end is absent</text>',
    '<g class="node request absent"><rect x="660" y="-10" width="26" height="20" rx="4"/></g><text x="694" y="4">absent from the app</text>',
    '</g>',
  ].join('');
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" class="data-flow" role="img" aria-labelledby="df-title df-desc" viewBox="0 0 ${width} ${height}" width="100%" preserveAspectRatio="xMinYMin meet">`,
    `<title id="df-title">Data flow of the synthesized app</title><desc id="df-desc">${escapeHtml(desc)}</desc>`,
    `<defs>${marker('verified')}${marker('unverified')}${marker('missing')}</defs>`,
    `<text class="row-label" x="${X0}" y="${ROWS[2] - 8}">audit paths</text>`,
    flow.edges.map(edgeSvg).join(''),
    flow.nodes.map(nodeSvg).join(''),
    legend,
    '</svg>',
  ].join('');
}
