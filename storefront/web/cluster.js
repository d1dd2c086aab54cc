// The cluster page: /cluster.json once a second (every service's status), and the /events
// stream for leader changes the moment this front end hears of them. textContent only.
'use strict';

(() => {
  const $ = (id) => document.getElementById(id);
  let view = null;          // the last /cluster.json data
  let announced = null;     // the last "leader" event: {id, term}

  function row(tbody, cells, cls) {
    const tr = document.createElement('tr');
    if (cls) tr.className = cls;
    for (const [text, c] of cells) {
      const td = document.createElement('td');
      if (c) td.className = c;
      td.textContent = text === null || text === undefined ? '–' : String(text);
      tr.appendChild(td);
    }
    tbody.appendChild(tr);
  }

  function clear(tbody) {
    while (tbody.firstChild) tbody.removeChild(tbody.firstChild);
  }

  // Before the front end's first round of probes there is nothing to say about anyone.
  const probed = () => view && view.probe_age_ms >= 0;

  function state(up) {
    if (!probed()) return ['…', ''];
    return up ? ['up', 'up'] : ['down', 'down'];
  }

  function replicaUp(id) {
    if (!probed()) return true;
    const r = view.replicas.find((x) => x.id === id);
    return !r || r.up;
  }

  // The newest word on the leader: the probes' or the stream's, whichever has the higher term,
  // unless the probes show that replica down (killed, not yet replaced).
  function currentLeader() {
    const fromProbes = view ? view.leader : null;
    let best = fromProbes;
    if (announced && (!best || announced.term > best.term)) best = announced;
    if (best && !replicaUp(best.id)) best = null;
    return best;
  }

  function renderLeader() {
    const el = $('leader');
    const l = currentLeader();
    if (l) {
      el.textContent = 'Leader: order-' + l.id + ' (term ' + l.term + ')';
      el.className = 'leader';
      el.dataset.leader = String(l.id);
    } else {
      el.textContent = 'Leader: none (election under way)';
      el.className = 'leader none';
      el.dataset.leader = '';
    }
  }

  function render() {
    renderLeader();
    if (!view) return;
    const leader = currentLeader();
    const reps = $('replicas').querySelector('tbody');
    clear(reps);
    for (const r of view.replicas) {
      row(reps, [
        ['order-' + r.id, ''],
        state(r.up),
        [r.up ? r.role : null, ''],
        [r.up ? r.term : null, 'num'],
        [r.up ? r.commit_index : null, 'num'],
        [r.up ? r.last_index : null, 'num'],
        [r.up ? r.behind : null, 'num'],
        [r.up ? r.committed : null, 'num'],
      ], leader && leader.id === r.id ? 'is-leader' : '');
    }
    const svc = $('services').querySelector('tbody');
    clear(svc);
    row(svc, [['broker', ''], state(view.broker.up),
      [view.broker.role, ''], [view.broker.up ? view.broker.events + ' events forwarded' : null, '']]);
    row(svc, [['catalog', ''], state(view.catalog.up),
      [view.catalog.role, ''], [view.catalog.up ? view.catalog.items + ' items' : null, '']]);
    $('probe').textContent = view.probe_age_ms < 0 ? 'asking the services…'
      : 'asked ' + view.probe_age_ms + ' ms ago';

    const fe = view.frontend;
    const c = fe.cache;
    const t = $('frontend').querySelector('tbody');
    clear(t);
    row(t, [['cache', ''], [c.enabled ? c.size + ' of ' + c.capacity + ' entries' : 'off', 'num']]);
    row(t, [['cache hit ratio', ''],
      [c.hit_ratio === null ? '–' : (100 * c.hit_ratio).toFixed(1) + ' % of ' + (c.hits + c.misses) + ' lookups', 'num']]);
    row(t, [['bus', ''], [fe.bus ? 'alive' : 'silent', fe.bus ? 'num up' : 'num down']]);
    row(t, [['routes orders to', ''],
      [fe.announced_leader ? 'order-' + fe.announced_leader.id : 'nobody yet', 'num']]);
    row(t, [['live pages', ''], [fe.event_streams, 'num']]);
    drawChart(view.orders);
  }

  function drawChart(orders) {
    const canvas = $('chart');
    const g = canvas.getContext('2d');
    const w = canvas.width, h = canvas.height, pad = 24;
    g.clearRect(0, 0, w, h);
    const n = orders.per_second.length;
    const maxRate = Math.max(1, ...orders.per_second);
    const maxLat = Math.max(1, ...orders.latency_avg_ms);
    const bw = (w - 2 * pad) / Math.max(1, n);
    g.fillStyle = '#8fb8e8';
    orders.per_second.forEach((v, i) => {
      const bh = (h - 2 * pad) * v / maxRate;
      g.fillRect(pad + i * bw, h - pad - bh, Math.max(1, bw - 1), bh);
    });
    g.strokeStyle = '#d9480f';
    g.lineWidth = 2;
    g.beginPath();
    orders.latency_avg_ms.forEach((v, i) => {
      const x = pad + (i + 0.5) * bw, y = h - pad - (h - 2 * pad) * v / maxLat;
      if (i === 0) g.moveTo(x, y); else g.lineTo(x, y);
    });
    g.stroke();
    g.fillStyle = '#5b6570';
    g.font = '11px sans-serif';
    g.fillText(maxRate + '/s', 2, pad - 8);
    g.fillText(maxLat.toFixed(1) + ' ms', w - 60, pad - 8);
    g.fillText('-60 s', pad, h - 6);
    g.fillText('now', w - pad - 20, h - 6);
    const total = orders.per_second.reduce((a, b) => a + b, 0);
    const last = orders.per_second[n - 1] || 0;
    $('chart-figures').textContent = total + ' orders in the last minute, ' + last +
      ' in the last second, mean latency then ' + (orders.latency_avg_ms[n - 1] || 0).toFixed(1) + ' ms';
  }

  async function poll() {
    try {
      const r = await fetch('/cluster.json', { cache: 'no-store' });
      if (r.ok) {
        view = (await r.json()).data;
        render();
      }
    } catch (e) {
      $('probe').textContent = 'this front end does not answer';
    }
    setTimeout(poll, 1000);
  }

  const live = $('live');
  const events = new EventSource('/events');
  events.addEventListener('open', () => { live.textContent = 'live'; live.className = 'live on'; });
  events.addEventListener('error', () => { live.textContent = 'reconnecting…'; live.className = 'live off'; });
  events.addEventListener('leader', (e) => {
    try {
      const l = JSON.parse(e.data);
      if (!announced || l.term >= announced.term) announced = { id: l.id, term: l.term };
      render();
    } catch (err) { /* a malformed event changes nothing */ }
  });

  renderLeader();
  poll();
})();
