'use strict';
/* check.js — asks Grafana's own published code how Grafana reads crosslink's
 * rendered provisioning, and replays from Grafana's source the rules that are
 * not published as a package. Test tooling only (Debian's Node, CommonJS).
 *
 *   node check.js NODE_MODULES BUNDLE.json
 *
 * BUNDLE.json comes from bundle.py: one entry per rendered file (a stream of
 * ConfigMaps). All ConfigMaps of one file are taken to feed ONE Grafana (the
 * golden multi-stack case shares its labels). A file whose comments say
 * "# expect: rule ..." is a known-bad fixture: it passes when exactly those
 * rules fire. Prints "ok"/"FAIL" per file and "N passed, N failed"; exits 1
 * on any failure.
 *
 * Published code asked (versions pinned in package.json / package-lock.json):
 *   @grafana/data rangeUtil.describeInterval / intervalToMs  every duration
 *   @grafana/lezer-logql      every LogQL (link queries, dashboard panels)
 *   @prometheus-io/lezer-promql every PromQL (link queries, panels, variables)
 *   @grafana/lezer-traceql    every TraceQL (dashboard panels)
 * Rules replayed from grafana/grafana source (read in the repository's stored
 * snapshot; file named at each rule, behaviour stable across 10.x-13.x unless
 * said otherwise):
 *   interp      pkg/services/provisioning/values/values.go interpolateValue +
 *               pkg/setting/expanders.go (split on "$$", ${..}/$__env/$__file
 *               expanders, then Go os.ExpandEnv; joined with "$")
 *   default     pkg/services/provisioning/datasources/config_reader.go
 *               validateDefaultUniqueness (one isDefault per org, all files)
 *   uid/name    pkg/util/shortid_generator.go (uid [a-zA-Z0-9_-], <= 40);
 *               data_source.name column varchar(190)
 *               (pkg/services/sqlstore/migrations/datasource_mig.go)
 *   derived     public/app/plugins/datasource/loki/getDerivedFields.ts (label
 *               matcher: exact key before 11.5, RegExp.test from 11.5)
 *   variables   packages/grafana-prometheus/src/migrations/variableMigration.ts
 *               (label_values regex), loki/types.ts LokiVariableQuery,
 *               tempo/VariableQueryEditor.tsx TempoVariableQuery,
 *               grafana-pyroscope-datasource/VariableSupport.ts
 *   link vars   public/app/features/explore/TraceView/createSpanLink.tsx
 *               (${__tags}, ${__span.*}, ${__trace.*}; a link whose query
 *               keeps an undefined variable is hidden)
 *   correlations pkg/services/provisioning/datasources/datasources.go
 *               makeCreateCorrelationCommand (label/description strings,
 *               targetUID provisioned, config.field, config.type query,
 *               transformations under config) + public/app/features/
 *               correlations/utils.ts (links attach to config.field by name)
 *   dashboards  pkg/services/provisioning/dashboards/file_reader.go (only
 *               *.json files under the provider path are dashboards; a
 *               {"dashboard": …} envelope is not unwrapped) */
const path = require('path');

const nm = process.argv[2];
const bundle = JSON.parse(require('fs').readFileSync(process.argv[3], 'utf8'));
const need = (m) => require(path.join(nm, m));
const { rangeUtil } = need('@grafana/data');
const parsers = {
  logql: need('@grafana/lezer-logql').parser,
  promql: need('@prometheus-io/lezer-promql').parser,
  traceql: need('@grafana/lezer-traceql').parser,
};

const CROSSLINK_LABELS = ['app.kubernetes.io/managed-by', 'app.kubernetes.io/name', 'crosslink.dev/stack'];
const FILE_REF = /^(Bearer )?<file:\/etc\/grafana\/crosslink-(secrets|configmaps)\/[a-z0-9.-]+\/[-._a-zA-Z0-9]+>$/;
const UID = /^[a-zA-Z0-9\-_]{1,40}$/;
const LINK_TYPES = {
  exemplar: 'tempo', tracesToLogsV2: 'loki', tracesToMetrics: 'prometheus', serviceMap: 'prometheus',
  tracesToProfiles: 'grafana-pyroscope-datasource', derivedField: 'tempo',
};
/* A span as Grafana's trace view hands it to the link builders. */
const SPAN = { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', name: 'GET /cart' };
const SAMPLE = 'checkout';

/* ---- Grafana's provisioning env interpolation (values.go, expanders.go) -- */

function goShellName(s) {
  // os.Expand's getShellName
  const special = (c) => '*#$@!?-0123456789'.includes(c);
  const alnum = (c) => /[A-Za-z0-9_]/.test(c);
  if (s[0] === '{') {
    if (s.length > 2 && special(s[1]) && s[2] === '}') return [s[1], 3];
    for (let i = 1; i < s.length; i++) if (s[i] === '}') return i === 1 ? ['', 2] : [s.slice(1, i), i + 1];
    return ['', 1];
  }
  if (special(s[0])) return [s[0], 1];
  let i = 0;
  while (i < s.length && alnum(s[i])) i++;
  return [s.slice(0, i), i];
}

function goExpandEnv(s, env) {
  // os.ExpandEnv: unset -> ""; "$" + non-name char kept; bad "${" eaten
  let out = '', i = 0;
  for (let j = 0; j < s.length; j++) {
    if (s[j] === '$' && j + 1 < s.length) {
      out += s.slice(i, j);
      const [name, w] = goShellName(s.slice(j + 1));
      if (name === '' && w > 0) { /* bad syntax, eaten */ } else if (name === '') out += s[j];
      else out += env[name] ?? '';
      j += w;
      i = j + 1;
    }
  }
  return out + s.slice(i);
}

function grafanaInterpolate(s, env = {}) {
  return s.split('$$').map((piece) => goExpandEnv(piece.replace(/\$(|__\w+)\{([^}]+)\}/g, (m, kind, arg) => {
    if (kind === '' || kind === '__env') return env[arg] ?? '';
    if (kind === '__file') return `<file:${arg}>`;
    return m;
  }), env)).join('$');
}

/* What the author meant: "$$" is a literal "$", $__file{} a file. */
function intended(s) {
  return s.split('$$').map((p) => p.replace(/\$__file\{([^}]+)\}/g, '<file:$1>')).join('$');
}

/* ---- durations ----------------------------------------------------------- */

function goDurationMs(s) {
  // Go time.ParseDuration, in ms (NaN when Go rejects it)
  const m = /^([-+])?(.*)$/.exec(s);
  let rest = m[2], total = 0;
  if (rest === '0') return 0;
  if (!rest) return NaN;
  const units = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, 'μs': 1e-3, ms: 1, s: 1e3, m: 6e4, h: 36e5 };
  while (rest) {
    const p = /^(\d*\.?\d*)(ns|us|µs|μs|ms|s|m|h)/.exec(rest);
    if (!p || p[1] === '' || p[1] === '.') return NaN;
    total += parseFloat(p[1]) * units[p[2]];
    rest = rest.slice(p[0].length);
  }
  return m[1] === '-' ? -total : total;
}

/* ---- query languages ----------------------------------------------------- */

function parseErrors(lang, q) {
  const errs = [];
  parsers[lang].parse(q).iterate({ enter: (n) => { if (n.type.isError) errs.push(n.from); } });
  return errs;
}

function tagsFor(tags, sep) {
  // createSpanLink.tsx: configured {key, value} tags present on the span,
  // written value-or-key="spanValue", joined
  return (tags || []).map((t) => `${t.value || t.key}="${SAMPLE}"`).join(sep);
}

function substituteLinkVars(q, tags) {
  let s = q.replace(/\$\{__tags\}|\$__tags/g, tagsFor(tags, ', '));
  s = s.replace(/\$\{__span\.traceId\}|\$\{__trace\.traceId\}/g, SPAN.traceId)
    .replace(/\$\{__span\.spanId\}/g, SPAN.spanId)
    .replace(/\$\{__span\.name\}|\$\{__trace\.name\}/g, SPAN.name)
    .replace(/\$\{__span\.duration\}|\$\{__trace\.duration\}/g, '1000')
    .replace(/\$\{__span\.tags(\.[\w.]+|\["[^"]+"\])\}/g, SAMPLE);
  return s.replace(/\$__rate_interval|\$\{__rate_interval\}|\$__interval|\$\{__interval\}|\$__range|\$\{__range\}/g, '60s');
}

function substituteDashboardVars(q) {
  return q.replace(/\$\{service(:[a-z]+)?\}|\$service\b/g, SAMPLE)
    .replace(/\$__rate_interval|\$__interval|\$__range/g, '60s');
}

/* ---- the checks ---------------------------------------------------------- */

function checkFile(entry) {
  const fired = [];
  const fail = (rule, msg) => fired.push({ rule, msg });
  const isExample = /(^|\/)examples\//.test(entry.path);
  const dss = []; // {ds (interpolated), org, group, where}
  const dashboards = [];

  for (const cm of entry.configmaps) {
    const group = JSON.stringify(Object.entries(cm.labels).filter(([k]) => !CROSSLINK_LABELS.includes(k)).sort());
    for (const [key, ent] of Object.entries(cm.data)) {
      const where = `${cm.name}/${key}`;
      if (ent.error) { fail('yaml-parse', `${where}: ${ent.error}`); continue; }
      const doc = ent.parsed;
      if (key.endsWith('.json')) { dashboards.push({ where, d: doc }); continue; }
      if (doc && Array.isArray(doc.providers)) {
        // a provider file inside a ConfigMap the dashboard sidecar copies into
        // the dashboards folder is never read as a provider (file_reader.go)
        if (cm.labels.grafana_dashboard !== undefined) fail('dash-key', `${where}: provider file in the dashboards ConfigMap`);
        continue;
      }
      if (!doc || !Array.isArray(doc.datasources)) { fail('ds-apiversion', `${where}: no datasources list`); continue; }
      if (doc.apiVersion !== 1) fail('ds-apiversion', `${where}: apiVersion ${doc.apiVersion} (0/missing = legacy snake_case keys)`);
      if ('prune' in doc && typeof doc.prune !== 'boolean') fail('ds-prune', `${where}: prune is not a boolean`);
      for (const raw of doc.datasources) {
        const ds = walkInterpolate(raw, `${where}:${raw.name}`, fail, false);
        const org = ds.orgId === undefined || ds.orgId === 0 ? 1 : ds.orgId;
        if (!Number.isInteger(org) || org < 1) fail('ds-org', `${where}:${ds.name}: orgId ${ds.orgId}`);
        if (typeof ds.name !== 'string' || !ds.name || ds.name.length > 190) fail('ds-name', `${where}: name "${ds.name}" (1-190 chars)`);
        if (typeof ds.uid !== 'string' || !UID.test(ds.uid)) fail('ds-uid', `${where}:${ds.name}: uid "${ds.uid}" (<= 40 of [a-zA-Z0-9_-])`);
        dss.push({ ds, org, group, where: `${where}:${ds.name}` });
      }
    }
  }

  // one Grafana: default uniqueness per org, unique (org, name) and (org, uid)
  const seen = {};
  for (const { ds, org, group, where } of dss) {
    const k = (what, v) => `${group}|${org}|${what}|${v}`;
    if (ds.isDefault === true) {
      if (isExample) fail('ds-default-example', `${where}: an example claims the default (kube-prometheus-stack already has one)`);
      if (seen[k('default', '')]) fail('ds-default', `${where}: second isDefault in org ${org} (also ${seen[k('default', '')]})`);
      seen[k('default', '')] = where;
    }
    for (const [what, v] of [['name', ds.name], ['uid', ds.uid]]) {
      if (seen[k(what, v)]) fail('ds-unique', `${where}: ${what} "${v}" also used by ${seen[k(what, v)]}`);
      seen[k(what, v)] = where;
    }
  }
  const byUid = (uid, type, from) => {
    const hit = dss.find((x) => x.ds.uid === uid && x.group === from.group && x.org === from.org);
    return hit && (!type || hit.ds.type === type) ? hit : null;
  };

  for (const x of dss) checkDatasource(x, byUid, fail);
  for (const x of dss) checkCorrelations(x, byUid, fail);
  for (const { where, d } of dashboards) checkDashboard(where, d, dss, fail);
  return fired;
}

/* Interpolates every string as Grafana does; reports any that Grafana would
 * read differently from what was meant. Returns the stored values. */
function walkInterpolate(v, where, fail, secure) {
  if (typeof v === 'string') {
    const got = grafanaInterpolate(v), want = intended(v);
    if (got !== want) fail('interp', `${where}: "${v}" is stored as "${got}", meant "${want}"`);
    if (got.includes('<file:') && !(secure && FILE_REF.test(got))) fail('file-ref', `${where}: "${v}"`);
    return got;
  }
  if (Array.isArray(v)) return v.map((x, i) => walkInterpolate(x, `${where}[${i}]`, fail, secure));
  if (v && typeof v === 'object') {
    const o = {};
    for (const [k, x] of Object.entries(v)) o[k] = walkInterpolate(x, `${where}.${k}`, fail, secure || k === 'secureJsonData');
    return o;
  }
  return v;
}

function checkDuration(where, v, fail) {
  if (v === undefined) return;
  if (typeof v !== 'string') { fail('duration', `${where}: ${JSON.stringify(v)} is not a string`); return; }
  let g;
  try {
    rangeUtil.describeInterval(v);
    g = rangeUtil.intervalToMs(v);
  } catch (e) {
    fail('duration', `${where}: "${v}": Grafana throws: ${e.message}`);
    return;
  }
  const go = goDurationMs(v);
  if (Number.isNaN(go)) fail('duration', `${where}: "${v}" is not a Go duration (Grafana reads ${g} ms)`);
  else if (g !== go) fail('duration', `${where}: "${v}" is ${go} ms but Grafana reads ${g} ms`);
}

function checkQuery(lang, where, q, fail) {
  if (/\$\{?__/.test(q) || /\$\{?[A-Za-z]/.test(q)) {
    fail('variable', `${where}: variable left unresolved (Grafana hides or breaks the link): ${q}`);
    return;
  }
  const errs = parseErrors(lang, q);
  if (errs.length) fail(lang, `${where}: ${lang} parse error at ${errs[0]}: ${q}`);
}

function checkDatasource(x, byUid, fail) {
  const { ds, where } = x;
  const jd = ds.jsonData || {};
  const ref = (kind, uid, at) => {
    if (!byUid(uid, LINK_TYPES[kind], x)) fail('ref', `${where}: ${at} datasourceUid "${uid}" is not a provisioned ${LINK_TYPES[kind]} data source of org ${x.org}`);
  };
  if (ds.type === 'prometheus') {
    checkDuration(`${where}: timeInterval`, jd.timeInterval, fail);
    (jd.exemplarTraceIdDestinations || []).forEach((e, i) => { if (e.datasourceUid) ref('exemplar', e.datasourceUid, `exemplarTraceIdDestinations[${i}]`); });
  }
  if (ds.type === 'grafana-pyroscope-datasource') checkDuration(`${where}: minStep`, jd.minStep, fail);
  if (ds.type === 'tempo') {
    for (const k of ['tracesToLogsV2', 'tracesToMetrics', 'tracesToProfiles', 'serviceMap']) {
      const l = jd[k];
      if (!l) continue;
      ref(k, l.datasourceUid, k);
      checkDuration(`${where}: ${k}.spanStartTimeShift`, l.spanStartTimeShift, fail);
      checkDuration(`${where}: ${k}.spanEndTimeShift`, l.spanEndTimeShift, fail);
    }
    if (jd.traceQuery) {
      checkDuration(`${where}: traceQuery.spanStartTimeShift`, jd.traceQuery.spanStartTimeShift, fail);
      checkDuration(`${where}: traceQuery.spanEndTimeShift`, jd.traceQuery.spanEndTimeShift, fail);
    }
    const tl = jd.tracesToLogsV2;
    if (tl && tl.customQuery) checkQuery('logql', `${where}: tracesToLogsV2.query`, substituteLinkVars(tl.query || '', tl.tags), fail);
    const tm = jd.tracesToMetrics;
    (tm && tm.queries || []).forEach((q, i) => checkQuery('promql', `${where}: tracesToMetrics.queries[${i}]`, substituteLinkVars(q.query || '', tm.tags), fail));
    const tp = jd.tracesToProfiles;
    if (tp && tp.customQuery) checkQuery('promql', `${where}: tracesToProfiles.query`, substituteLinkVars(tp.query || '', tp.tags), fail);
  }
  if (ds.type === 'loki') {
    (jd.derivedFields || []).forEach((f, i) => {
      const at = `${where}: derivedFields[${i}] ${f.name}`;
      if (f.matcherType === 'label') {
        // < 11.5 looks up labels[matcherRegex]; >= 11.5 tests it as a RegExp:
        // only a plain label name means the same in both
        if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(f.matcherRegex || '')) fail('derived-field', `${at}: label matcher "${f.matcherRegex}" is not a plain label name (anchored/regex forms need Grafana 11.5)`);
      } else {
        let re;
        try { re = new RegExp(f.matcherRegex); } catch (e) { fail('derived-field', `${at}: ${e.message}`); }
        if (re && !/\((?!\?[:=!<])/.test(f.matcherRegex)) fail('derived-field', `${at}: regex has no capture group 1`);
      }
      if (f.datasourceUid) {
        ref('derivedField', f.datasourceUid, `derivedFields[${i}]`);
        if (f.url !== '${__value.raw}') fail('derived-field', `${at}: internal link query is "${f.url}", not \${__value.raw}`);
      }
    });
  }
}

function checkCorrelations(x, byUid, fail) {
  const { ds, where } = x;
  (ds.correlations || []).forEach((c, i) => {
    const at = `${where}: correlations[${i}]`;
    if (typeof c.label !== 'string' || typeof c.description !== 'string') fail('correlation', `${at}: label and description must both be strings`);
    if ('transformations' in c) fail('correlation', `${at}: transformations must be nested under config`);
    const cfg = c.config || {};
    if (typeof cfg.field !== 'string' || !cfg.field) fail('correlation', `${at}: config.field missing`);
    if (cfg.type !== undefined && cfg.type !== 'query') fail('correlation', `${at}: config.type must be query`);
    const target = byUid(c.targetUID, null, x);
    if (!target) { fail('ref', `${at}: targetUID "${c.targetUID}" is not provisioned in org ${x.org}`); return; }
    const vars = {};
    for (const tr of cfg.transformations || []) {
      if (tr.type === 'regex') {
        let re;
        try { re = new RegExp(tr.expression); } catch (e) { fail('correlation', `${at}: regex ${e.message}`); continue; }
        const m = re.exec(`level=info trace_id=${SPAN.traceId} msg=ok`) || re.exec(`{"trace_id":"${SPAN.traceId}"}`);
        vars[tr.mapValue || cfg.field] = m ? m[1] : undefined;
      }
    }
    vars[cfg.field] = vars[cfg.field] ?? SAMPLE;
    const subst = (q) => q.replace(/\$\{([\w.]+)\}/g, (all, n) => (vars[n] !== undefined ? vars[n] : all));
    const tq = cfg.target || {};
    if (target.ds.type === 'loki') checkQuery('logql', `${at} target`, subst(tq.expr || ''), fail);
    else if (target.ds.type === 'prometheus') checkQuery('promql', `${at} target`, subst(tq.expr || ''), fail);
    else if (target.ds.type === 'tempo') {
      const q = subst(tq.query || '');
      if (tq.queryType === 'traceql' && /^[0-9a-f]{16,32}$/.test(q)) return; // a trace id: trace-by-ID
      checkQuery('traceql', `${at} target`, q, fail);
    }
  });
}

function checkVariable(where, v, dsOf, fail) {
  if (v.type !== 'query') { fail('dash-var', `${where}: $${v.name} is a ${v.type} variable: it lists no values`); return; }
  const ds = dsOf(v.datasource, where);
  if (!ds) return;
  const q = v.query;
  const t = ds.type;
  const bad = (why) => fail('dash-var', `${where}: $${v.name} on ${t}: ${why}: ${JSON.stringify(q)}`);
  if (t === 'prometheus') {
    const s = typeof q === 'string' ? q : q && q.qryType === 1 ? q.query : null;
    const m = s && /^label_values\((?:(.+),\s*)?([a-zA-Z_$][a-zA-Z0-9_]*)\)\s*$/.exec(s);
    if (!m) return bad('not a label_values() query (variableMigration.ts)');
    if (m[1]) checkQuery('promql', `${where}: $${v.name} metric`, substituteDashboardVars(m[1]), fail);
  } else if (t === 'loki') {
    if (!q || typeof q !== 'object' || q.type !== 1 || !q.label) bad('not a LokiVariableQuery {type: 1, label}');
  } else if (t === 'tempo') {
    if (!q || typeof q !== 'object' || q.type !== 1 || !q.label) bad('not a TempoVariableQuery {type: 1, label}');
  } else if (t === 'grafana-pyroscope-datasource') {
    if (!q || q.type !== 'labelValue' || !q.labelName || !q.profileTypeId) bad('not a Pyroscope {type: labelValue, labelName, profileTypeId}');
  } else bad('unknown data source type');
}

function checkDashboard(where, d, dss, fail) {
  if (!d || typeof d !== 'object' || d.dashboard) { fail('dash-wrapped', `${where}: not a bare dashboard model`); return; }
  if (!UID.test(d.uid || '')) fail('dash-uid', `${where}: uid "${d.uid}"`);
  const dsOf = (ref, at) => {
    const hit = ref && dss.find((x) => x.ds.uid === ref.uid);
    if (!hit) { fail('dash-ref', `${at}: data source ${JSON.stringify(ref)} is not provisioned`); return null; }
    if (ref.type && ref.type !== hit.ds.type) { fail('dash-ref', `${at}: type ${ref.type} but ${ref.uid} is ${hit.ds.type}`); return null; }
    return hit.ds;
  };
  ((d.templating || {}).list || []).forEach((v) => checkVariable(where, v, dsOf, fail));
  for (const p of d.panels || []) {
    const at = `${where}: panel "${p.title}"`;
    const pds = dsOf(p.datasource, at);
    for (const t of p.targets || []) {
      const tds = t.datasource ? dsOf(t.datasource, `${at} target ${t.refId}`) : pds;
      if (!tds) continue;
      if (tds.type === 'prometheus') checkQuery('promql', `${at}`, substituteDashboardVars(t.expr || ''), fail);
      if (tds.type === 'loki') checkQuery('logql', `${at}`, substituteDashboardVars(t.expr || ''), fail);
      if (tds.type === 'tempo' && t.queryType === 'traceql') checkQuery('traceql', `${at}`, substituteDashboardVars(t.query || ''), fail);
      if (tds.type === 'grafana-pyroscope-datasource') checkQuery('promql', `${at} labelSelector`, substituteDashboardVars(t.labelSelector || ''), fail);
    }
    if (p.type === 'flamegraph' && pds && pds.type === 'grafana-pyroscope-datasource') {
      const pt = ((p.targets || [])[0] || {}).profileTypeId || '';
      if (/CPU/i.test(p.title) && !pt.startsWith('process_cpu:')) fail('dash-title', `${at}: says CPU but shows ${pt}`);
    }
  }
}

let passed = 0, failed = 0;
for (const entry of bundle) {
  const fired = checkFile(entry);
  const rules = [...new Set(fired.map((f) => f.rule))].sort();
  if (entry.expect.length) {
    const want = [...new Set(entry.expect)].sort();
    if (JSON.stringify(rules) === JSON.stringify(want)) {
      passed++;
      console.log(`ok   ${entry.path}: known-bad, caught: ${rules.join(' ')}`);
    } else {
      failed++;
      console.log(`FAIL ${entry.path}: known-bad, want rules [${want.join(' ')}], got [${rules.join(' ')}]`);
      for (const f of fired) console.log(`       [${f.rule}] ${f.msg}`);
    }
  } else if (fired.length) {
    failed++;
    console.log(`FAIL ${entry.path}`);
    for (const f of fired) console.log(`       [${f.rule}] ${f.msg}`);
  } else {
    passed++;
    console.log(`ok   ${entry.path}`);
  }
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
