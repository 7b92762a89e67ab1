// Retort's web view: follows the current run through server-sent events (/api/events) and draws with uPlot.
'use strict';
(function () {
  const token = document.querySelector('meta[name="retort-token"]').content;
  const NOT_TERMS = new Set(['lr', 'images_per_s', 'skipped_train']);
  const COLORS = ['#222', '#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f',
    '#bcbd22', '#17becf', '#393b79', '#ad494a', '#637939', '#843c39', '#7b4173'];
  const $ = id => document.getElementById(id);

  let run = null;           // the run followed
  let steps = [];           // x of the loss chart
  let series = {};          // term -> values aligned with steps (null where the term was absent)
  let terms = [];           // 'total' first, then the terms in the order first seen
  let markers = [];         // {step, label, kind: 'swap' | 'checkpoint' | 'state'}
  let evals = { x: [], y: [] };
  let weights = {};
  let lossChart = null, miouChart = null, studyChart = null;
  let dirty = false, modulesShown = '';

  function reset(id) {
    run = id; steps = []; series = {}; terms = []; markers = []; evals = { x: [], y: [] };
    if (lossChart) { lossChart.destroy(); lossChart = null; }
    if (miouChart) { miouChart.destroy(); miouChart = null; }
    $('run-id').textContent = id;
    $('terms').tBodies[0].innerHTML = '';
    $('iou').tBodies[0].innerHTML = '';
    dirty = true;
  }

  function onRun(ev) {
    if (ev.run !== run) reset(ev.run);
    switch (ev.type) {
      case 'STEP': addStep(ev); break;
      case 'EVALUATION': addEvaluation(ev); break;
      case 'MODULES_CHANGED': markers.push({ step: ev.step, label: swapLabel(ev.message), kind: 'swap' }); break;
      case 'CHECKPOINT': checkpoint(ev.step, ev.message.split('/').pop().replace('.safetensors', '')); break;
      case 'PAUSED': case 'RESUMED': case 'FINISHED': case 'FAILED':
        markers.push({ step: ev.step, label: ev.type.toLowerCase(), kind: 'state' }); break;
      default: break;
    }
    dirty = true;
  }

  // best and last written at one step make one marker: "ckpt best+last"
  function checkpoint(step, name) {
    const m = markers.find(x => x.kind === 'checkpoint' && x.step === step);
    if (m) m.label += '+' + name;
    else markers.push({ step: step, label: 'ckpt ' + name, kind: 'checkpoint' });
  }

  // "step 12: modules [csf, pea] -> [csf] (…)" -> "-pea"
  function swapLabel(message) {
    const m = /modules \[(.*?)\] -> \[(.*?)\]/.exec(message);
    if (!m) return 'modules';
    const split = s => s.split(',').map(x => x.trim()).filter(x => x);
    const before = split(m[1]), after = split(m[2]);
    const out = after.filter(x => !before.includes(x)).map(x => '+' + x)
      .concat(before.filter(x => !after.includes(x)).map(x => '-' + x));
    return out.length ? out.join(' ') : 'modules re-configured';
  }

  function addStep(ev) {
    const values = Object.entries(ev.metrics).filter(([k]) => !NOT_TERMS.has(k));
    for (const [k] of values) {
      if (!(k in series)) {
        series[k] = new Array(steps.length).fill(null);
        if (k === 'total') terms.unshift(k); else terms.push(k);
        if (lossChart) { lossChart.destroy(); lossChart = null; }  // a new term: the chart is built again
      }
    }
    steps.push(ev.step);
    for (const k of terms) series[k].push(k in ev.metrics ? ev.metrics[k] : null);
    showTerms(ev.step, values);
  }

  function showTerms(step, values) {
    $('terms-step').textContent = step;
    const body = $('terms').tBodies[0];
    body.innerHTML = '';
    for (const [k, v] of values) {
      const tr = body.insertRow();
      tr.dataset.term = k;
      tr.insertCell().textContent = k;
      cellNumber(tr, v === null ? '–' : v.toPrecision(5));
      cellNumber(tr, k === 'total' ? '' : (k in weights ? String(weights[k]) : ''));
    }
  }

  function addEvaluation(ev) {
    const miou = ev.metrics.miou;
    evals.x.push(ev.step);
    evals.y.push(miou === null ? null : 100 * miou);
    $('iou-step').textContent = ev.step;
    $('miou').textContent = miou === null ? '–' : (100 * miou).toFixed(2) + ' %';
    const body = $('iou').tBodies[0];
    body.innerHTML = '';
    for (const [k, v] of Object.entries(ev.metrics)) {  // iou.<class> in the dataset's class order
      if (!k.startsWith('iou.')) continue;
      const tr = body.insertRow();
      tr.insertCell().textContent = k.substring(4);
      cellNumber(tr, v === null ? '–' : (100 * v).toFixed(2));
    }
  }

  function cellNumber(tr, text) {
    const td = tr.insertCell();
    td.className = 'num';
    td.textContent = text;
  }

  function onStatus(s) {
    if (s.id && s.id !== run) reset(s.id);
    $('state').textContent = s.state;
    $('step').textContent = s.step ?? '–';
    $('total').textContent = s.total_steps ?? '–';
    $('epoch').textContent = s.epoch ?? '–';
    $('eta').textContent = s.eta_s === null || s.eta_s === undefined ? '–' : duration(s.eta_s);
    $('ips').textContent = s.images_per_s === null || s.images_per_s === undefined ? '–' : s.images_per_s.toFixed(2);
    $('device').textContent = s.device ?? '–';
    weights = s.loss_weights || {};
    const shown = JSON.stringify([s.modules, s.state]);
    if (shown !== modulesShown) { modulesShown = shown; showModules(s.modules || [], s.state); }
  }

  function showModules(modules, state) {
    const body = $('modules').tBodies[0];
    body.innerHTML = '';
    const ended = ['FINISHED', 'STOPPED', 'FAILED', 'NONE'].includes(state);
    for (const m of modules) {
      const tr = body.insertRow();
      tr.dataset.module = m.name;
      if (!m.active) tr.className = 'disabled';
      tr.insertCell().textContent = m.name;
      cellNumber(tr, m.params === null ? '–' : m.params.toLocaleString('en'));
      tr.insertCell().textContent = m.active ? 'active' : 'disabled';
      const b = document.createElement('button');
      b.className = 'toggle';
      b.textContent = m.active ? 'disable' : 'enable';
      b.disabled = ended;
      b.onclick = () => toggle(m.name, m.active ? 'disable' : 'enable', b);
      tr.insertCell().appendChild(b);
    }
  }

  async function toggle(name, action, button) {
    button.disabled = true;
    try {
      const r = await fetch('/api/modules/' + encodeURIComponent(name) + '/' + action,
        { method: 'POST', headers: { 'X-Retort-Token': token } });
      const body = await r.json();
      $('module-message').textContent = r.ok ? name + ': ' + action + ' ' + body.applies : body.error;
    } catch (e) {
      $('module-message').textContent = String(e);
    }
  }

  function duration(s) {
    s = Math.round(s);
    const h = Math.floor(s / 3600), m = Math.floor(s % 3600 / 60);
    return (h ? h + ' h ' : '') + (h || m ? m + ' min ' : '') + (s % 60) + ' s';
  }

  function markerPlugin() {
    return {
      hooks: {
        draw: [u => {
          const ctx = u.ctx, px = window.devicePixelRatio || 1;
          ctx.save();
          ctx.font = (11 * px) + 'px sans-serif';
          let row = 0;
          for (const m of markers) {
            const x = Math.round(u.valToPos(m.step, 'x', true));
            if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) continue;
            ctx.strokeStyle = ctx.fillStyle = m.kind === 'swap' ? '#c0392b' : m.kind === 'checkpoint' ? '#999' : '#2c3e50';
            ctx.setLineDash(m.kind === 'checkpoint' ? [4 * px, 4 * px] : []);
            ctx.beginPath();
            ctx.moveTo(x, u.bbox.top);
            ctx.lineTo(x, u.bbox.top + u.bbox.height);
            ctx.stroke();
            ctx.fillText(m.label, x + 3 * px, u.bbox.top + (12 + 12 * (row++ % 4)) * px);
          }
          ctx.restore();
        }]
      }
    };
  }

  function width(el) { return Math.max(300, el.clientWidth || 800); }

  function render() {
    if (!dirty) return;
    dirty = false;
    $('loss-points').textContent = steps.length;
    $('miou-points').textContent = evals.x.length;
    if (steps.length) {
      const data = [steps].concat(terms.map(k => series[k]));
      if (!lossChart) {
        const el = $('loss-chart');
        lossChart = new uPlot({
          width: width(el), height: 320, plugins: [markerPlugin()],
          scales: { x: { time: false } },
          series: [{ label: 'step' }].concat(terms.map((k, i) => ({ label: k, stroke: COLORS[i % COLORS.length], width: k === 'total' ? 2 : 1, spanGaps: false }))),
        }, data, el);
      } else {
        lossChart.setData(data);
      }
    }
    if (evals.x.length) {
      if (!miouChart) {
        const el = $('miou-chart');
        miouChart = new uPlot({
          width: width(el), height: 220, scales: { x: { time: false } },
          series: [{ label: 'step' }, { label: 'mIoU %', stroke: '#2ca02c', width: 2, points: { show: true } }],
        }, [evals.x, evals.y], el);
      } else {
        miouChart.setData([evals.x, evals.y]);
      }
    }
  }

  async function loadStudy() {
    let r;
    try { r = await fetch('/api/study'); } catch (e) { return; }
    if (r.status !== 200) return;
    const study = await r.json();
    $('study').hidden = false;
    $('study-folder').textContent = study.folder + ((study.skipped || []).length
      ? ' — skipped: ' + study.skipped.map(x => x.file + ' (' + x.problem + ')').join('; ') : '');
    const body = $('study-table').tBodies[0];
    body.innerHTML = '';
    const tables = [];
    for (const row of study.rows) {
      const tr = body.insertRow();
      tr.insertCell().textContent = row.arm;
      tr.insertCell().textContent = row.name;
      tr.insertCell().textContent = row.modules;
      tr.insertCell().textContent = row.configuration || '–';
      cellNumber(tr, (100 * row.miou).toFixed(2));
      cellNumber(tr, (row.params / 1e6).toFixed(3));
      cellNumber(tr, (row.extra_params / 1e6).toFixed(3));
      cellNumber(tr, row.ms_per_step === null ? '–' : row.ms_per_step.toFixed(1));
      cellNumber(tr, row.steps);
      const xs = (row.losses || []).map((_, i) => (i + 1) * row.loss_stride);
      tables.push([xs, row.losses || []]);
    }
    if (studyChart) { studyChart.destroy(); studyChart = null; }
    if (tables.length && tables.some(t => t[0].length)) {
      const el = $('study-chart');
      studyChart = new uPlot({
        width: width(el), height: 320, scales: { x: { time: false } },
        series: [{ label: 'step' }].concat(study.rows.map((row, i) => ({ label: row.name + ' (total loss)', stroke: COLORS[(i + 1) % COLORS.length], spanGaps: true }))),
      }, uPlot.join(tables), el);
    }
  }

  // The server serves a bounded number of event streams: when it refuses this one (503) the browser closes it; the
  // page then asks for the status every 5 s and tries a stream again after 30 s.
  let polling = null;
  function connect() {
    const events = new EventSource('/api/events');
    events.addEventListener('run', e => onRun(JSON.parse(e.data)));
    events.addEventListener('status', e => onStatus(JSON.parse(e.data)));
    events.onopen = () => {
      if (polling) { clearInterval(polling); polling = null; }
      $('connection').textContent = 'live'; $('connection').className = 'badge live';
    };
    events.onerror = () => {
      if (events.readyState !== EventSource.CLOSED) { $('connection').textContent = 'reconnecting…'; $('connection').className = 'badge lost'; return; }
      $('connection').textContent = 'polling (the server\'s live streams are all in use)'; $('connection').className = 'badge lost';
      if (!polling) polling = setInterval(poll, 5000);
      setTimeout(connect, 30000);
    };
  }
  async function poll() {
    try {
      const r = await fetch('/api/run');
      if (r.status === 200) onStatus(await r.json());
    } catch (e) { /* the server is gone: the badge says so already */ }
  }
  connect();
  // drawing at most twice a second keeps the page cheap however often steps arrive
  setInterval(render, 500);
  loadStudy();
  setInterval(loadStudy, 15000);
})();
