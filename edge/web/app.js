// The web client: plain ES module, no build step. Protocol: docs/protocol.md.
// Session (tokens, device id, open conversation) lives in sessionStorage: one user per tab,
// and a reload keeps both the login and the device id (so the new socket replaces the old one).

const $ = (id) => document.getElementById(id);
const store = sessionStorage;
// How a user is shown: their display name once their profile is known, the first 8 characters
// of the id until then (see `nameOf`, in "people" below).
const short = (id) => (id ? nameOf(id) : '?');
const uuid = () => ([1e7] + -1e3 + -4e3 + -8e3 + -1e11).replace(/[018]/g, (c) => (c ^ (crypto.getRandomValues(new Uint8Array(1))[0] & (15 >> (c / 4)))).toString(16));
const directId = (a, b) => (a < b ? `d:${a}:${b}` : `d:${b}:${a}`);

let session = JSON.parse(store.getItem('im.session') || 'null'); // {access_token, refresh_token, user_id, expires_at}
let ws = null;
let backoff = 500;
let retryAfter = null; // from a `reconnect` frame
let reconnectTimer = null;
let refreshTimer = null;
let refreshing = null;
const convs = new Map(); // conversation_id -> {id, kind, with, top, readSeq, msgs: Map(key -> msg), last, loaded, hasOlder, peerRead, peerDelivered}
const friends = new Set();
const incoming = new Set();
const groups = new Map(); // group_id -> name
const pending = new Map(); // client msg_id -> send_msg frame not yet acked
let active = store.getItem('im.active');
// Changes to messages (recall, edit, reactions, delete for me), by `<conversation>|<seq>` of the
// target, from the events that carry them: applied whenever the target is shown, whichever of
// the two arrived first (live, sync or history). See docs/protocol.md, "Changing a message".
const changes = new Map(); // key -> {recalled, content, version, edited_at, reactions, reactionsSeq, hidden}
const CHANGE_TYPES = new Set(['system/recalled', 'system/edited', 'system/reaction', 'system/deleted_for_me', 'system/media_ready']);
const REACTIONS = ['👍', '❤️', '😂', '🎉'];
let editing = null; // {conversation_id, seq} of the message being edited
// A reply or a forward being composed: {kind: 'reply' | 'forward', m}. The server resolves the
// quote and the attribution (docs/protocol.md, "Replies and forwards").
let composing = null;
let typingTimer = null;
let lastTypingSent = 0;

// ---------- HTTP ----------

async function api(method, path, body, retry = true) {
  const headers = { 'content-type': 'application/json' };
  if (session) headers.authorization = `Bearer ${session.access_token}`;
  // The page keeps its own caches (profiles: PROFILE_TTL_MS); a reload must see what is new.
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-cache' });
  const data = res.status === 204 ? null : await res.json().catch(() => null);
  if (res.status === 401 && data?.error_code === 'TOKEN_EXPIRED' && retry && session) {
    await refreshToken();
    return api(method, path, body, false);
  }
  if (!res.ok) throw Object.assign(new Error(data?.error_message || res.statusText), { code: data?.error_code || String(res.status), body: data });
  return data;
}

function saveSession(t) {
  session = { access_token: t.access_token, refresh_token: t.refresh_token, user_id: t.user_id, expires_at: Date.now() + t.expires_in * 1000 };
  store.setItem('im.session', JSON.stringify(session));
  clearTimeout(refreshTimer);
  // Renew a minute before expiry, and hand the new token to the open socket.
  refreshTimer = setTimeout(() => refreshToken().catch(() => {}), Math.max(5000, session.expires_at - Date.now() - 60_000));
}

function refreshToken() {
  refreshing ??= api('POST', '/v1/auth/refresh', { refresh_token: session.refresh_token }, false)
    .then((t) => {
      saveSession({ ...t, user_id: t.user_id ?? session.user_id });
      send({ type: 'token_refresh', token: session.access_token });
    })
    .catch((err) => {
      logout(`Session ended (${err.code}); log in again.`);
      throw err;
    })
    .finally(() => (refreshing = null));
  return refreshing;
}

async function login(register) {
  const username = $('username').value.trim();
  const password = $('password').value;
  $('auth-error').textContent = '';
  try {
    if (register) await api('POST', '/v1/auth/register', { username, password, display_name: $('display-name').value.trim() || undefined });
    let device = store.getItem('im.device');
    if (!device) store.setItem('im.device', (device = `web-${uuid()}`));
    saveSession(await api('POST', '/v1/auth/login', { username, password, device_id: device }));
    start();
  } catch (err) {
    $('auth-error').textContent = `${err.code}: ${err.message}`;
  }
}

function logout(reason = '') {
  const s = session;
  session = null;
  store.removeItem('im.session');
  store.removeItem('im.active');
  clearTimeout(refreshTimer);
  clearTimeout(reconnectTimer);
  if (ws) (ws.onclose = null), ws.close(1000);
  ws = null;
  if (s && !reason) fetch('/v1/auth/logout', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ refresh_token: s.refresh_token }) });
  if (reason) store.setItem('im.notice', reason);
  location.reload();
}

// ---------- WebSocket ----------

function send(frame) {
  if (ws?.readyState !== WebSocket.OPEN) return false;
  ws.send(JSON.stringify(frame));
  return true;
}

async function connect() {
  clearTimeout(reconnectTimer);
  if (!session) return;
  if (session.expires_at - Date.now() < 30_000) {
    try { await refreshToken(); } catch { return; }
  }
  setConn('connecting');
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const sock = (ws = new WebSocket(`${proto}//${location.host}/ws`, ['im.v1', `bearer.${session.access_token}`]));
  sock.onopen = () => {
    backoff = 500;
    retryAfter = null;
    setConn('online');
    loadLists();
    if ($('my-status').value === 'away' || document.visibilityState === 'hidden') sendMyStatus();
    for (const f of pending.values()) send(f); // unacked sends, same msg_id: stamped once
  };
  sock.onmessage = (e) => {
    try { onFrame(JSON.parse(e.data)); } catch (err) { console.error('bad frame', err); }
  };
  sock.onclose = (e) => {
    if (ws !== sock) return;
    ws = null;
    setConn('offline');
    if (e.code === 4100) return void refreshToken().then(connect, () => {});
    if (e.code === 4101) return logout('Your token was refused; log in again.');
    if (e.code === 4102 || e.code === 4103 || e.code === 4104) return toast(`Disconnected: ${e.reason || e.code}. Reload to reconnect.`, true);
    const delay = retryAfter ?? backoff / 2 + (Math.random() * backoff) / 2; // 0.5 s .. 30 s, jittered
    backoff = Math.min(backoff * 2, 30_000);
    reconnectTimer = setTimeout(connect, delay);
  };
}

function onFrame(f) {
  switch (f.type) {
    case 'connected':
      // Live from here on; catch up on what came before: each conversation we hold messages
      // of, from its last seq, then everything unread.
      for (const c of convs.values()) if (c.loaded) send({ type: 'sync', conversation_id: c.id, after_seq: maxSeq(c) });
      send({ type: 'sync' });
      break;
    case 'message':
      send({ type: 'ack', msg_id: f.msg_id });
      addMessage(f);
      break;
    case 'sync_result':
      for (const m of f.messages) addMessage(m, true);
      if (f.has_more && f.messages.length) send({ type: 'sync', conversation_id: f.conversation_id, after_seq: f.messages.at(-1).sequence_number });
      renderConversations();
      break;
    case 'ack': {
      pending.delete(f.msg_id);
      const c = conv(f.conversation_id);
      c.top = Math.max(c.top, f.sequence_number);
      const m = c.msgs.get(f.msg_id);
      if (m) Object.assign(m, { sequence_number: f.sequence_number, msg_id: f.server_msg_id, timestamp: f.timestamp, state: 'sent' }), (c.last = m);
      if (f.conversation_id === active) renderMessages(), markRead();
      renderConversations();
      break;
    }
    case 'error':
      if (f.msg_id && pending.has(f.msg_id)) {
        const frame = pending.get(f.msg_id);
        pending.delete(f.msg_id);
        for (const c of convs.values()) {
          const m = c.msgs.get(f.msg_id);
          if (m) m.state = `failed: ${m.media?.length ? mediaRefusal(f.error_code, m.media[0], f) : f.error_code}`;
        }
        renderMessages();
        if (f.error_code === 'SERVICE_UNAVAILABLE') pending.set(f.msg_id, frame);
      }
      toast(`${f.error_code}: ${f.error_message}`, true);
      break;
    case 'receipt':
      if (f.user !== session.user_id) {
        const c = conv(f.conversation_id);
        if (f.kind === 'read') c.peerRead = Math.max(c.peerRead, f.seq);
        c.peerDelivered = Math.max(c.peerDelivered, f.seq); // reading implies delivery
        if (c.id === active) renderMessages();
      }
      break;
    case 'typing':
      if (f.conversation_id === active && f.user !== session.user_id) {
        $('typing').textContent = f.active ? `${short(f.user)} is typing…` : '';
        clearTimeout(typingTimer);
        typingTimer = setTimeout(() => ($('typing').textContent = ''), 5000);
      }
      break;
    case 'reconnect':
      retryAfter = f.retry_after_ms;
      toast('Server is restarting; reconnecting…');
      break;
    case 'presence':
      onPresence(f);
      break;
    case 'conversation_settings':
      applySettings(f);
      break;
    case 'token_refreshed':
    case 'heartbeat':
      break;
  }
}

// ---------- people: profiles, finding users ----------

// Profiles are fetched on demand and kept PROFILE_TTL_MS (the server's max-age): a change a
// friend makes shows here within that, without any push (docs/protocol.md, "Profiles").
const PROFILE_TTL_MS = 60_000;
const UUID_SHAPE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const profiles = new Map(); // user_id -> {p: profile | null, at}
const wanted = new Set(); // user ids to fetch in the next batch
let wantTimer = null;
let searchTimer = null;

function nameOf(id) {
  const known = profiles.get(id);
  if (!known || Date.now() - known.at > PROFILE_TTL_MS) want(id);
  return known?.p?.display_name ?? id.slice(0, 8);
}

function want(id) {
  if (!session || !UUID_SHAPE.test(id) || wanted.has(id)) return;
  wanted.add(id);
  wantTimer ??= setTimeout(fetchProfiles, 20);
}

/** Everyone asked for since the last batch, 50 ids a request; then every list is drawn again. */
async function fetchProfiles() {
  wantTimer = null;
  const ids = [...wanted];
  wanted.clear();
  const at = Date.now();
  // Marked first, so drawing while the request runs does not ask again.
  for (const id of ids) profiles.set(id, { p: profiles.get(id)?.p ?? null, at });
  try {
    for (let i = 0; i < ids.length; i += 50) {
      const { users } = await api('GET', `/v1/users?ids=${ids.slice(i, i + 50).join(',')}`);
      for (const p of users) profiles.set(p.user_id, { p, at });
    }
  } catch (err) {
    for (const id of ids) profiles.delete(id);
    return console.warn('profiles', err.message);
  }
  renderPeople();
}

function renderPeople() {
  renderFriends();
  renderConversations();
  renderMessages();
  const me = profiles.get(session?.user_id)?.p;
  if (me) $('my-name').textContent = `${me.display_name} (@${me.username})`;
}

async function loadMyProfile() {
  try {
    const p = await api('GET', '/v1/profile');
    profiles.set(p.user_id, { p, at: Date.now() });
    renderPeople();
  } catch (err) {
    toast(`Profile: ${err.message}`, true);
  }
}

function editProfile() {
  const me = profiles.get(session.user_id)?.p;
  const form = $('profile-form');
  form.hidden = !form.hidden;
  if (form.hidden || !me) return;
  $('profile-name').value = me.display_name;
  $('profile-avatar').value = me.avatar_url ?? '';
  $('profile-bio').value = me.bio ?? '';
  $('profile-visibility').value = me.presence_visibility ?? 'friends';
}

async function saveProfile() {
  try {
    const p = await api('PUT', '/v1/profile', { display_name: $('profile-name').value, avatar_url: $('profile-avatar').value.trim() || null, bio: $('profile-bio').value, presence_visibility: $('profile-visibility').value });
    profiles.set(p.user_id, { p, at: Date.now() });
    $('profile-form').hidden = true;
    renderPeople();
    toast('Profile saved');
  } catch (err) {
    toast(`${err.code}: ${err.message}`, true);
  }
}

/** A friend request to a username or a user id, whichever was typed. */
async function addFriend(who) {
  if (!who) return;
  const body = UUID_SHAPE.test(who) ? { user_id: who } : { username: who };
  try {
    await api('POST', '/v1/friends/requests', body);
    toast(`Friend request sent to ${body.username ? `@${who}` : nameOf(who)}`);
    $('friend-id').value = '';
    $('people').replaceChildren();
  } catch (err) {
    toast(`${err.code}: ${err.message}`, true);
  }
}

/** Usernames starting with what is typed, a few at a time, each with an Add button. */
function searchPeople() {
  clearTimeout(searchTimer);
  const q = $('friend-id').value.trim();
  if (!/^[a-zA-Z0-9_.-]{1,32}$/.test(q) || UUID_SHAPE.test(q)) return void $('people').replaceChildren();
  searchTimer = setTimeout(async () => {
    try {
      const { users } = await api('GET', `/v1/users?prefix=${encodeURIComponent(q)}&limit=8`);
      if ($('friend-id').value.trim() !== q) return;
      for (const p of users) profiles.set(p.user_id, { p, at: Date.now() });
      $('people').replaceChildren(...users.filter((p) => p.user_id !== session.user_id).map((p) =>
        el('li', { className: 'person' }, avatar(p), el('span', { textContent: `${p.display_name} @${p.username}`, title: p.bio ?? '' }),
          friends.has(p.user_id) ? el('span', { className: 'muted', textContent: 'friend' })
            : el('button', { type: 'button', className: 'small secondary', textContent: 'Add', onclick: () => addFriend(p.username) }))));
    } catch (err) {
      toast(`${err.code}: ${err.message}`, true);
    }
  }, 250);
}

// ---------- people: presence ----------

const presence = new Map(); // user_id -> {state: online|away|offline|hidden, last_seen}

/** The friends' presence now (after login and each reconnect); changes then come as `presence` frames. */
async function loadPresence() {
  const ids = [...friends];
  try {
    for (let i = 0; i < ids.length; i += 50) {
      const res = await api('GET', `/v1/presence?ids=${ids.slice(i, i + 50).join(',')}`);
      for (const p of res.presence) presence.set(p.user_id, p);
    }
    renderFriends();
    renderChatPresence();
  } catch (err) {
    console.warn('presence', err.message);
  }
}

function onPresence(f) {
  presence.set(f.user, { user_id: f.user, state: f.state, last_seen: f.last_seen });
  renderFriends();
  renderChatPresence();
}

function ago(ms) {
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  if (s < 60) return 'just now';
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return new Date(ms).toLocaleDateString();
}

/** "online", "away", "last seen 5 min ago", or nothing when hidden or unknown. */
function presenceText(u) {
  const p = presence.get(u);
  if (!p || p.state === 'hidden') return '';
  if (p.state === 'offline') return p.last_seen ? `last seen ${ago(p.last_seen)}` : 'offline';
  return p.state;
}

function presenceDot(u) {
  const state = presence.get(u)?.state ?? 'hidden';
  return el('span', { className: `dot ${state}`, title: presenceText(u) || 'presence hidden' });
}

function renderChatPresence() {
  const c = active && convs.get(active);
  $('chat-presence').textContent = c && c.kind === 'direct' && c.with !== session.user_id ? presenceText(c.with) : '';
}

/** This device's own status: away when chosen, or while the page is hidden. */
function sendMyStatus() {
  send({ type: 'presence', status: $('my-status').value === 'away' || document.visibilityState === 'hidden' ? 'away' : 'online' });
}

/** The user's avatar (an http(s) URL: the server refuses any other scheme), or nothing. */
function avatar(p) {
  return p?.avatar_url ? el('img', { className: 'avatar', src: p.avatar_url, alt: '', referrerPolicy: 'no-referrer' }) : null;
}

// ---------- state ----------

function conv(id) {
  let c = convs.get(id);
  if (!c) {
    const group = id.startsWith('g:');
    const [, a, b] = id.split(':');
    c = { id, kind: group ? 'group' : 'direct', with: group ? id.slice(2) : a === session.user_id ? b : a, top: 0, readSeq: 0, msgs: new Map(), loaded: false, hasOlder: false, peerRead: 0, peerDelivered: 0, settings: { ...DEFAULT_SETTINGS } };
    convs.set(id, c);
  }
  return c;
}

// ---------- conversation settings: mute, pin, archive, mark unread (docs/protocol.md) ----------

const DEFAULT_SETTINGS = { muted: 'none', pinned: false, archived: false, marked_unread: false };
let showArchived = false;

/** The settings as the server has them now: from a `conversation_settings` frame (any device's change) or the list. */
function applySettings(s) {
  const c = conv(s.conversation_id);
  c.settings = { muted: s.muted, pinned: s.pinned, archived: s.archived, marked_unread: s.marked_unread };
  renderConversations();
}

/** Asks the server; the page changes when its answer (the frame with this msg_id) comes back, as on the other devices. */
function setSettings(c, change) {
  send({ type: 'conversation_settings', msg_id: `set-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`, conversation_id: c.id, ...change });
}

// Unread as the server counts it: the highest seq known minus the read position.
const unread = (c) => (c.id === active ? 0 : Math.max(0, c.top - c.readSeq));
const maxSeq = (c) => Math.max(0, ...[...c.msgs.values()].map((m) => m.sequence_number || 0));
const keyOf = (m) => m.client_msg_id || m.msg_id;

function addMessage(m, quiet = false) {
  if (CHANGE_TYPES.has(m.content_type)) noteChange(m);
  const c = conv(m.conversation_id);
  const key = keyOf(m);
  const fresh = !c.msgs.has(key);
  c.msgs.set(key, { ...c.msgs.get(key), ...m, state: 'sent' });
  if (m.content_type?.startsWith('system/')) onSystem(m, fresh && !quiet);
  if (c.id === active && m.sender !== session.user_id) $('typing').textContent = '';
  c.top = Math.max(c.top, m.sequence_number || 0);
  ownRead(c, m);
  if (m.sequence_number >= (c.last?.sequence_number ?? 0)) c.last = m;
  if (c.id === active) renderMessages(), markRead();
  if (!quiet) renderConversations();
}

/**
 * What I sent myself (a message, or a notice of my own act such as "friend request sent") is
 * not unread: when everything before it was read, the read position moves past it, here and on
 * the server. The inbox (notes to self, refusals) stays unread: its notices are news.
 */
function ownRead(c, m) {
  const seq = m.sequence_number || 0;
  if (m.sender !== session.user_id || c.with === session.user_id || !seq || c.readSeq < seq - 1) return;
  if (send({ type: 'read', conversation_id: c.id, seq })) c.readSeq = seq;
}

/** Records what a change event does to its target (latest version, latest reaction event wins). */
function noteChange(m) {
  let b;
  try { b = JSON.parse(m.content); } catch { return; }
  if (!b.conversation_id || !b.target_seq) return;
  const key = `${b.conversation_id}|${b.target_seq}`;
  const ch = changes.get(key) || {};
  if (b.event === 'recalled') ch.recalled = true;
  if (b.event === 'edited' && (b.version || 0) > (ch.version || 0)) Object.assign(ch, { content: b.content, version: b.version, edited_at: b.edited_at });
  if (b.event === 'reaction' && m.sequence_number > (ch.reactionsSeq || 0)) Object.assign(ch, { reactions: b.reactions || [], reactionsSeq: m.sequence_number });
  if (b.event === 'deleted_for_me') ch.hidden = true;
  // What the media processor learnt (dimensions, a thumbnail), by media id: the event's own `media`.
  if (b.event === 'media_ready') for (const x of m.media || []) (ch.media ??= {})[x.id] = { ...ch.media?.[x.id], ...x };
  changes.set(key, ch);
  const target = convs.get(b.conversation_id);
  if (target && target.id === active) renderMessages();
}

/** A message as it is now: what history said of it, then the changes seen since. */
function current(m) {
  const ch = changes.get(`${m.conversation_id}|${m.sequence_number}`);
  const out = { ...m };
  if (ch?.edited_at && (ch.version || 0) > (m.version || 0)) Object.assign(out, { content: ch.content, version: ch.version, edited_at: ch.edited_at });
  if (ch?.reactions) out.reactions = ch.reactions;
  if (ch?.media && m.media) out.media = m.media.map((x) => ({ ...x, ...ch.media[x.id] }));
  if (ch?.recalled || m.recalled) Object.assign(out, { recalled: true, content: '', reactions: [], media: [] });
  if (ch?.hidden || m.deleted_for_me) out.deleted_for_me = true;
  return out;
}

function change(type, m, extra = {}) {
  send({ type, msg_id: uuid(), conversation_id: m.conversation_id, seq: m.sequence_number, message_id: m.msg_id, ...extra });
}

function startEdit(m) {
  editing = { conversation_id: m.conversation_id, seq: m.sequence_number, msg_id: m.msg_id };
  $('send-text').value = m.content;
  $('send-btn').textContent = 'Save';
  $('send-text').focus();
}

function stopEdit() {
  editing = null;
  $('send-btn').textContent = 'Send';
}

// System messages: friend events update the lists only when they arrive live (the REST lists
// are the authority on load and reconnect; an old request in history may have been answered).
function onSystem(m, live) {
  let body;
  try { body = JSON.parse(m.content); } catch { return; }
  const me = session.user_id;
  if (body.event === 'group_created' || body.event === 'group_renamed') groups.set(m.recipient, body.name);
  if (!live) return;
  if (body.event === 'friend_request' && body.target === me && !friends.has(body.actor)) incoming.add(body.actor);
  if (body.event === 'friend_accepted') for (const u of [body.actor, body.target]) if (u !== me) friends.add(u), incoming.delete(u), loadPresence();
  if (body.event === 'friend_removed') friends.delete(body.actor === me ? body.target : body.actor);
  if (body.event === 'command_rejected') toast(`${body.action} refused: ${body.error_code} ${body.error_message}`, true);
  onGroupLifecycle(m, body);
  renderFriends();
}

function describe(m) {
  if (m.recalled) return 'message recalled';
  if (m.deleted_for_me) return 'message deleted';
  if (!m.content_type?.startsWith('system/')) return m.content || (m.media?.length ? mediaLabel(m.media) : '');
  let b = {};
  try { b = JSON.parse(m.content); } catch { /* shown raw below */ }
  const who = (u) => (u === session.user_id ? 'you' : short(u));
  switch (b.event) {
    case 'friend_request': return `${who(b.actor)} sent a friend request${b.note ? `: ${b.note}` : ''}`;
    case 'friend_accepted': return `${who(b.actor)} accepted the friend request`;
    case 'group_created': return `${who(b.actor)} created the group “${b.name}”`;
    case 'members_added': return joinedText(b, who);
    case 'members_invited': return `${who(b.actor)} invited ${(b.members || []).map(who).join(', ')}`;
    case 'group_invite': return `${who(b.actor)} invited you to “${b.name}”`;
    case 'group_invite_accepted': return `you joined “${b.name}”`;
    case 'group_invite_declined': return `you declined the invite to “${b.name}”`;
    case 'invite_link_created': return `invite link for “${b.name}”: ${b.code}`;
    case 'invite_link_revoked': return `invite link revoked: ${b.code}`;
    case 'join_requested': return `${who(b.user)} asks to join “${b.name}”`;
    case 'join_request_sent': return `you asked to join “${b.name}”`;
    case 'join_request_approved': return `your request to join “${b.name}” was approved`;
    case 'join_request_rejected': return `your request to join “${b.name}” was declined`;
    case 'role_changed': return `${who(b.actor)} made ${who(b.user)} ${String(b.role).toLowerCase()}`;
    case 'report_filed': return 'your report was sent to the group\'s admins';
    case 'report_received': return `${who(b.reporter)} reported ${b.seq ? `a message (#${b.seq}) of ${who(b.target)}` : who(b.target)} in “${b.name}”: ${b.reason}`;
    case 'command_rejected': return `${b.action} refused: ${b.error_code} ${b.error_message}`;
    case 'recalled': return `${who(b.actor)} recalled a message`;
    case 'edited': return `${who(b.actor)} edited a message`;
    case 'reaction': return `${who(b.actor)} reacted ${b.emoji}`;
    case 'deleted_for_me': return 'you deleted a message';
    case 'media_ready': return `${mediaLabel(m.media || [])} ready`;
    default: return `${b.event ?? m.content_type}${b.actor ? ` (${who(b.actor)})` : ''}`;
  }
}

// ---------- group lifecycle: invites, links, join requests, roles ----------

/** A join (`members_added`): who added whom, or how they came in (`via`). */
function joinedText(b, who) {
  const list = (b.members || b.targets || []).map(who).join(', ');
  if (b.via === 'invite') return `${list} accepted the invite and joined`;
  if (b.via === 'link') return `${list} joined with an invite link`;
  if (b.via === 'request') return `${list} joined, approved by ${who(b.actor)}`;
  return `${who(b.actor)} added ${list}`;
}

/** The answers a notice asks for: an invite's accept or decline, a join request's approve or reject. */
function noticeActions(m) {
  let b;
  try { b = JSON.parse(m.content); } catch { return null; }
  const button = (cls, text, path, done) => el('button', { type: 'button', className: `${cls} small`, textContent: text, onclick: () => act(path, done) });
  const g = encodeURIComponent(b.group_id ?? '');
  if (b.event === 'group_invite') return el('span', { className: 'actions' }, button('invite-accept', 'Accept', `/v1/groups/${g}/invite/accept`, 'Invite accepted'), button('invite-decline secondary', 'Decline', `/v1/groups/${g}/invite/decline`, 'Invite declined'));
  if (b.event === 'join_requested') {
    const u = encodeURIComponent(b.user ?? '');
    return el('span', { className: 'actions' }, button('request-approve', 'Approve', `/v1/groups/${g}/join-requests/${u}/approve`, 'Approved'), button('request-reject secondary', 'Reject', `/v1/groups/${g}/join-requests/${u}/reject`, 'Rejected'));
  }
  return null;
}

/** Live group notices that change what the page holds: names to show, my own joins, the members list. */
function onGroupLifecycle(m, b) {
  if (b.group_id && b.name) groups.set(b.group_id, b.name);
  // A join by invite, link or request names the group: the new member may know it no other way.
  if (b.event === 'members_added' && b.name) groups.set(m.recipient, b.name);
  if (b.event === 'invite_link_created') $('link-code').textContent = b.code;
  if (['members_added', 'role_changed', 'members_removed', 'member_left'].includes(b.event) && !$('members').hidden && active === `g:${m.recipient}`) loadMembers();
}

/** A report of a message (`{seq}`) or a member (`{user_id}`) of a group, with the reason asked for. */
async function report(groupId, target) {
  const reason = prompt('Why are you reporting this? (at most 500 characters)')?.trim();
  if (!reason) return;
  await act(`/v1/groups/${encodeURIComponent(groupId)}/reports`, 'Report sent', { ...target, reason: reason.slice(0, 500) });
}

/** The open group's id, or null when the open conversation is no group. */
const openGroup = () => (active?.startsWith('g:') ? active.slice(2) : null);

async function inviteToGroup() {
  const g = openGroup();
  const who = $('invite-who').value.trim();
  if (!g || !who) return;
  try {
    const userId = UUID_SHAPE.test(who) ? who : (await api('GET', `/v1/users?username=${encodeURIComponent(who)}`)).user_id;
    await api('POST', `/v1/groups/${encodeURIComponent(g)}/invites`, { user_ids: [userId] });
    $('invite-who').value = '';
    toast(`Invited ${nameOf(userId)}`);
  } catch (err) {
    toast(`${err.code}: ${err.message}`, true);
  }
}

async function createLink() {
  const g = openGroup();
  if (!g) return;
  try {
    const { code } = await api('POST', `/v1/groups/${encodeURIComponent(g)}/links`, {});
    $('link-code').textContent = code;
    toast('Invite link created: share its code');
  } catch (err) {
    toast(`${err.code}: ${err.message}`, true);
  }
}

/** A code (`<group>:<token>`) joins by its link; a bare group id asks that group's admins. */
async function joinGroup(input) {
  if (!input) return;
  if (input.includes(':')) await act('/v1/invite-links/join', 'Joining with the invite code', { code: input });
  else await act(`/v1/groups/${encodeURIComponent(input)}/join-requests`, 'Join requested: the admins will answer');
  $('join-code').value = '';
}

async function loadMembers() {
  const g = openGroup();
  if (!g) return;
  try {
    const { members } = await api('GET', `/v1/groups/${encodeURIComponent(g)}`);
    const mine = members.find((x) => x.user_id === session.user_id)?.role;
    const setRole = (u, role) => async () => {
      try {
        await api('PUT', `/v1/groups/${encodeURIComponent(g)}/members/${encodeURIComponent(u)}/role`, { role });
        toast(`Role change asked: ${role}`);
      } catch (err) {
        toast(`${err.code}: ${err.message}`, true);
      }
    };
    $('members').replaceChildren(...members.map((x) => el('li', { className: 'member', dataset: { role: x.role } },
      el('span', { className: 'name', textContent: nameOf(x.user_id), title: x.user_id }),
      el('small', { className: 'role', textContent: x.role }),
      // Only the owner changes roles (docs/protocol.md, Group lifecycle).
      mine === 'owner' && x.role === 'member' ? el('button', { type: 'button', className: 'promote small secondary', textContent: 'make admin', onclick: setRole(x.user_id, 'admin') }) : null,
      mine === 'owner' && x.role === 'admin' ? el('button', { type: 'button', className: 'demote small secondary', textContent: 'make member', onclick: setRole(x.user_id, 'member') }) : null,
      x.user_id !== session.user_id ? el('button', { type: 'button', className: 'report-user small secondary', textContent: 'report', onclick: () => report(g, { user_id: x.user_id }) }) : null)));
    $('members').hidden = false;
  } catch (err) {
    toast(`${err.code}: ${err.message}`, true);
  }
}

function title(c) {
  if (c.kind === 'group') return `# ${groups.get(c.with) ?? short(c.with)}`;
  return c.with === session.user_id ? 'Notices (you)' : `@ ${short(c.with)}`;
}

async function loadLists() {
  try {
    const [f, g, list] = await Promise.all([api('GET', '/v1/friends'), api('GET', '/v1/groups'), api('GET', '/v1/conversations')]);
    friends.clear();
    incoming.clear();
    for (const x of f.friends) friends.add(x.user_id);
    for (const u of f.incoming) incoming.add(u);
    for (const x of g.groups) groups.set(x.group_id, x.name);
    for (const s of list.conversations) {
      const c = conv(s.conversation_id);
      c.with = s.with;
      c.top = Math.max(c.top, s.max_seq);
      c.readSeq = Math.max(c.readSeq, s.read_seq);
      // The ticks on one's own messages, as the server has them (they survive a reload).
      c.peerRead = Math.max(c.peerRead, s.peer_read_seq ?? 0);
      c.peerDelivered = Math.max(c.peerDelivered, s.peer_delivered_seq ?? 0);
      if (s.settings) applySettings({ conversation_id: s.conversation_id, ...s.settings });
      if (s.last_message && s.last_message.sequence_number >= (c.last?.sequence_number ?? 0)) c.last = s.last_message;
      if (s.last_message) onSystemQuiet(s.last_message);
    }
    renderFriends();
    renderConversations();
    loadPresence();
    if (active) renderMessages();
  } catch (err) {
    toast(`Could not load lists: ${err.message}`, true);
  }
}

function onSystemQuiet(m) {
  if (m.content_type?.startsWith('system/')) onSystem(m, false);
}

async function open(id, older = false) {
  if (active !== id) $('typing').textContent = '';
  if (active !== id) $('members').hidden = true;
  active = id;
  store.setItem('im.active', id);
  const c = conv(id);
  $('send-text').disabled = $('send-btn').disabled = $('attach-btn').disabled = false;
  renderConversations();
  renderMessages();
  if (!c.loaded || older) {
    const oldest = Math.min(...[...c.msgs.values()].map((m) => m.sequence_number || Infinity));
    const q = older && Number.isFinite(oldest) ? `?before_seq=${oldest}&limit=50` : '?limit=50';
    try {
      const page = await api('GET', `/v1/conversations/${encodeURIComponent(id)}/messages${q}`);
      for (const m of page.messages) {
        c.msgs.set(keyOf(m), { ...c.msgs.get(keyOf(m)), ...m, state: 'sent' });
        if (CHANGE_TYPES.has(m.content_type)) noteChange(m);
        onSystemQuiet(m);
      }
      if (!older || !page.has_more) c.hasOlder = page.has_more;
      c.loaded = true;
    } catch (err) {
      if (err.code !== 'FORBIDDEN' && err.code !== 'NOT_A_MEMBER') toast(`History: ${err.message}`, true);
      c.loaded = true;
    }
    if (active === id) renderMessages();
  }
  markRead();
  $('send-text').focus();
}

function markRead() {
  const c = active && convs.get(active);
  if (!c || document.visibilityState === 'hidden') return;
  const seq = maxSeq(c);
  // A conversation marked unread is read again on opening: the read clears the mark (server side).
  if ((seq > c.readSeq || (c.settings.marked_unread && seq > 0)) && send({ type: 'read', conversation_id: c.id, seq })) c.readSeq = seq;
}

function sendMessage(text) {
  const c = convs.get(active);
  if (!c || !text) return;
  if (editing) {
    const target = editing;
    stopEdit();
    if (target.conversation_id === c.id) return void change('edit_msg', { conversation_id: target.conversation_id, sequence_number: target.seq, msg_id: target.msg_id }, { content: text });
  }
  const reply = composing?.kind === 'reply' && composing.m.conversation_id === c.id ? composing.m : null;
  if (reply) stopCompose();
  // Shown at once with the quote as this page has it; the server's comes back in history.
  post(c, text, 'text', reply ? { reply_to: { seq: reply.sequence_number, message_id: reply.msg_id } } : {},
    reply ? { reply_to: { conversation_id: c.id, seq: reply.sequence_number, sender: reply.sender, excerpt: excerpt(current(reply)) } } : {});
  renderMessages();
}

/** Sends a message into `c` (fields of a reply, forward or media in `extra`) and shows it until acked. */
function post(c, content, contentType, extra, shown, msgId = uuid()) {
  const frame = { type: 'send_msg', msg_id: msgId, recipient: c.with, recipient_type: c.kind === 'group' ? 'group' : 'user', content, content_type: contentType, timestamp: Date.now(), ...extra };
  pending.set(frame.msg_id, frame);
  c.msgs.set(frame.msg_id, { client_msg_id: frame.msg_id, conversation_id: c.id, sender: session.user_id, content, content_type: contentType, timestamp: frame.timestamp, state: 'sending', ...shown });
  send(frame); // if offline it goes out on reconnect
}

/** A forward carries the original's content as it is now; the server checks it and adds the attribution. */
function forwardTo(id) {
  const m = composing?.kind === 'forward' ? current(composing.m) : null;
  stopCompose();
  if (!m || !id) return;
  post(conv(id), m.content, m.content_type, { forward_of: { conversation_id: m.conversation_id, seq: m.sequence_number, message_id: m.msg_id } },
    { forwarded_from: { conversation_id: m.conversation_id, seq: m.sequence_number, sender: m.sender } });
  open(id);
}

function startCompose(kind, m) {
  stopEdit();
  composing = { kind, m };
  renderCompose();
  if (kind === 'reply') $('send-text').focus();
}

function stopCompose() {
  composing = null;
  renderCompose();
}

const excerpt = (m) => (m.content_type && m.content_type !== 'text' ? `[${m.content_type.split('/')[0]}]` : m.content.length > 80 ? `${m.content.slice(0, 79)}…` : m.content);

/** A reply's quote: the server's excerpt, or a tombstone once the quoted message is recalled. */
function quoteText(ref) {
  const recalled = ref.recalled || changes.get(`${ref.conversation_id}|${ref.seq}`)?.recalled;
  return `${ref.sender === session.user_id ? 'you' : short(ref.sender)}: ${recalled ? 'message recalled' : ref.excerpt ?? ''}`;
}

function renderCompose() {
  $('compose-bar').hidden = !composing;
  if (!composing) return;
  const { kind, m } = composing;
  const who = m.sender === session.user_id ? 'you' : short(m.sender);
  $('compose-text').textContent = kind === 'reply' ? `replying to ${who}: ${excerpt(current(m))}` : `forward “${excerpt(current(m))}” to`;
  $('forward-to').hidden = $('forward-btn').hidden = kind !== 'forward';
  if (kind === 'forward') $('forward-to').replaceChildren(...[...convs.values()].map((c) => el('option', { value: c.id, textContent: title(c) })));
}


// ---------- media: attachments, uploads, showing them (docs/protocol.md, "Media") ----------

const MEDIA_KINDS = ['image', 'audio', 'video'];
/** The media kind a MIME type asks for: image/*, audio/*, video/*, anything else a file. */
const kindOf = (mime) => MEDIA_KINDS.find((k) => mime.startsWith(`${k}/`)) ?? 'file';
const MEDIA_ICONS = { image: '🖼', audio: '🎵', video: '🎬', file: '📎' };
const mediaLabel = (media) => media.map((x) => `${MEDIA_ICONS[x.kind] ?? '📎'} ${x.name}`).join(', ');

function fmtSize(n) {
  if (!Number.isFinite(n)) return '?';
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(n < 10 * 1024 ? 1 : 0)} KB`;
  return `${(n / 1024 / 1024).toFixed(n < 10 * 1024 * 1024 ? 1 : 0)} MB`;
}

/**
 * A refused upload slot or media send in words: `item` is what was declared ({name, size, mime,
 * kind}); `answer` the refusal's body, whose `max_size` (when the server gives one) is the limit.
 */
function mediaRefusal(code, item, answer = {}) {
  const name = `“${item.name}”`;
  // The limit: a field of the answer when it has one, else as its message says it ("... at most N bytes").
  const limit = answer.max_size ?? (Number(/at most (\d+) bytes/.exec(answer.error_message ?? '')?.[1]) || null);
  switch (code) {
    case 'MEDIA_TOO_LARGE': return `${name} is too large (${fmtSize(item.size)}): the limit for ${item.kind === 'file' ? 'files' : `${item.kind}s`} is ${limit ? fmtSize(limit) : 'lower'}.`;
    case 'MEDIA_TYPE_NOT_ALLOWED': return `${name} cannot be sent: files of type ${item.mime} are not allowed.`;
    case 'MEDIA_EMPTY': return `${name} is empty (0 bytes): nothing to send.`;
    case 'MEDIA_BAD_NAME': return `${name} cannot be sent under that name: rename the file (no / or \\, at most 255 characters).`;
    case 'MEDIA_QUOTA_EXCEEDED': return `${name} was not sent: you have used today's upload allowance.`;
    case 'RATE_LIMITED': case 'RATE_LIMIT_EXCEEDED': case 'TOO_MANY_REQUESTS': return `${name} was not sent: too many uploads at once; wait a moment and try again.`;
    case 'MEDIA_NOT_FOUND': return `${name} was not sent: the server no longer has the upload (it expired); attach the file again.`;
    case 'MEDIA_MISMATCH': return `${name} was not sent: its content does not match its type (${item.mime}) or size; it was discarded.`;
    case 'MEDIA_IN_USE': return `${name} is already attached to another message.`;
    case 'MEDIA_GONE': return `${name} was recalled or deleted.`;
    case 'UPLOAD_FAILED': return `${name} could not be uploaded${answer.status ? ` (storage answered ${answer.status})` : ' (network error)'}; try again.`;
    default: return `${name} was not sent: ${code}${answer.error_message ? ` (${answer.error_message})` : ''}.`;
  }
}

/** Each file becomes its own message in the open conversation; the typed text is the first one's caption. */
function attachFiles(files) {
  const c = convs.get(active);
  if (!c || !files.length) return;
  let caption = editing ? '' : $('send-text').value.trim();
  if (caption) $('send-text').value = '';
  for (const file of files) {
    uploadAndSend(c, file, caption);
    caption = '';
  }
}

/**
 * Slot, PUT, send: the bytes go from the page straight to the store (XMLHttpRequest for its
 * upload progress); the message is sent once they are there. Shown from the first moment as a
 * bubble of its own, with a progress bar, and a refusal stays in the conversation in words.
 */
async function uploadAndSend(c, file, caption) {
  const mime = file.type || 'application/octet-stream';
  const item = { kind: kindOf(mime), mime, size: file.size, name: file.name };
  const msgId = uuid();
  const m = { client_msg_id: msgId, conversation_id: c.id, sender: session.user_id, content: caption, content_type: item.kind, media: [item], timestamp: Date.now(), state: 'uploading', upload: { loaded: 0, total: file.size } };
  c.msgs.set(msgId, m);
  renderMessages();
  const fail = (code, answer) => {
    m.state = `failed: ${mediaRefusal(code, item, answer)}`;
    m.upload = null;
    renderMessages();
  };
  let slot;
  try {
    slot = await api('POST', '/v1/media/uploads', item);
  } catch (err) {
    return fail(err.code, err.body ?? {});
  }
  try {
    await putBytes(slot.upload, file, (loaded) => {
      m.upload.loaded = loaded;
      const bar = [...document.querySelectorAll('#messages li.msg')].find((li) => li.dataset.key === msgId)?.querySelector('progress');
      if (bar) bar.value = loaded;
    });
  } catch (err) {
    return fail('UPLOAD_FAILED', { status: err.status });
  }
  const media = [{ id: slot.media_id, ...item }];
  post(c, caption, item.kind, { media }, { media }, msgId);
  renderMessages();
}

/** The browser sets these itself; setting them throws. */
const UNSETTABLE = new Set(['content-length', 'host', 'connection']);

function putBytes(upload, file, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(upload.method || 'PUT', upload.url);
    for (const [k, v] of Object.entries(upload.headers || {})) if (!UNSETTABLE.has(k.toLowerCase())) xhr.setRequestHeader(k, v);
    xhr.upload.onprogress = (e) => onProgress(e.loaded);
    xhr.onload = () => (xhr.status >= 200 && xhr.status < 300 ? resolve() : reject(Object.assign(new Error('upload refused'), { status: xhr.status })));
    xhr.onerror = () => reject(new Error('network error'));
    xhr.send(file);
  });
}

// Short-lived download URLs (GET /v1/media/:id, presigned), by `<id>|<variant>`, asked for once
// and again near their expiry; a refusal is kept for a while (a thumbnail the query side has
// not seen yet is asked for again, a recalled file is not).
const mediaUrls = new Map(); // key -> {url, expires_at} | {error, until}
const mediaAsking = new Set();
// Thumbnails drawn once and moved between renders, so a re-render does not load them again.
const thumbs = new Map(); // media id -> <img>

function mediaUrl(id, variant) {
  const key = `${id}|${variant}`;
  const known = mediaUrls.get(key);
  const fresh = known && (known.error ? known.until > Date.now() : known.expires_at - Date.now() > 30_000);
  if (!fresh && !mediaAsking.has(key)) {
    mediaAsking.add(key);
    api('GET', `/v1/media/${encodeURIComponent(id)}${variant === 'thumbnail' ? '?variant=thumbnail' : ''}`)
      .then((r) => mediaUrls.set(key, r), (err) => {
        const final = err.code === 'MEDIA_GONE' || err.code === 'FORBIDDEN';
        mediaUrls.set(key, { error: err.code, until: final ? Infinity : Date.now() + 2000 });
        if (!final) setTimeout(renderMessages, 2100);
      })
      .finally(() => (mediaAsking.delete(key), renderMessages()));
  }
  return known;
}

/**
 * An image's original over the page, with a fresh URL (the one held may be near its expiry).
 * Not a new tab: the store serves every download as an attachment, which a tab would save.
 */
async function openOriginal(x) {
  try {
    const r = await api('GET', `/v1/media/${encodeURIComponent(x.id)}`);
    Object.assign($('viewer-img'), { src: r.url, alt: x.name });
    Object.assign($('viewer-download'), { href: r.url, download: x.name });
    $('viewer').hidden = false;
  } catch (err) {
    toast(mediaRefusal(err.code, x, err.body ?? {}), true);
  }
}

/** A media message's attachments: a thumbnail (or its placeholder), a player, or a file with its download link. */
function mediaView(m) {
  const uploading = m.state === 'uploading' && m.upload;
  return el('div', { className: 'media' }, ...m.media.map((x) => {
    const caption = `${x.name} · ${fmtSize(x.size)}`;
    if (uploading || !x.id) return el('span', { className: 'media-file' }, el('span', { className: 'name', textContent: `${MEDIA_ICONS[x.kind] ?? '📎'} ${x.name}` }), el('span', { className: 'size', textContent: fmtSize(x.size) }));
    const original = mediaUrl(x.id, 'original');
    if (original?.error === 'MEDIA_GONE') return el('span', { className: 'media-gone', textContent: `${caption}: no longer available` });
    if (x.kind === 'image') {
      const thumb = x.thumbnail ? mediaUrl(x.id, 'thumbnail') : null;
      if (!thumb?.url) return el('span', { className: 'media-placeholder', textContent: `🖼 ${caption}`, title: 'preview on its way; click to open', onclick: () => openOriginal(x) });
      let img = thumbs.get(x.id);
      if (!img) thumbs.set(x.id, (img = el('img', { className: 'media-thumb', alt: x.name, title: `${caption}: click to open`, onclick: () => openOriginal(x) })));
      if (img.dataset.url !== thumb.url) (img.src = thumb.url), (img.dataset.url = thumb.url);
      return img;
    }
    const link = el('a', { className: 'media-download', textContent: 'download', download: x.name, href: original?.url ?? '#', rel: 'noopener' });
    if (!original?.url) link.onclick = (e) => (e.preventDefault(), openOriginal(x));
    const player = original?.url && (x.kind === 'audio' || x.kind === 'video') ? el(x.kind, { controls: true, preload: 'metadata', src: original.url }) : null;
    return el('div', { className: `media-${x.kind}` }, player,
      el('span', { className: 'media-file' }, el('span', { className: 'name', textContent: `${MEDIA_ICONS[x.kind] ?? '📎'} ${x.name}` }), el('span', { className: 'size', textContent: fmtSize(x.size) }), link));
  }), m.state === 'uploading' && m.upload ? el('progress', { className: 'upload-progress', max: m.upload.total || 1, value: m.upload.loaded }) : null);
}

// ---------- rendering ----------

function el(tag, { dataset, ...props } = {}, ...children) {
  const e = Object.assign(document.createElement(tag), props);
  Object.assign(e.dataset, dataset);
  for (const ch of children) if (ch != null) e.append(ch);
  return e;
}

function renderFriends() {
  $('requests').replaceChildren(...[...incoming].map((u) =>
    el('li', { className: 'request' }, el('span', { textContent: `request from ${short(u)}`, title: u }),
      el('button', { className: 'small', textContent: 'Accept', onclick: () => act(`/v1/friends/requests/${u}/accept`, 'Accepted') }))));
  $('friends').replaceChildren(...[...friends].map((u) =>
    el('li', { className: 'friend', dataset: { presence: presence.get(u)?.state ?? 'hidden' } }, presenceDot(u), avatar(profiles.get(u)?.p),
      el('span', { className: 'name', textContent: short(u), title: profiles.get(u)?.p?.username ? `@${profiles.get(u).p.username}` : u }),
      el('small', { className: 'seen', textContent: presenceText(u) }),
      el('button', { className: 'small secondary', textContent: 'Chat', onclick: () => open(directId(session.user_id, u)) }))));
}

function renderConversations() {
  // Pinned first, then the most recent; archived ones only under the toggle.
  const all = [...convs.values()].sort((a, b) => Number(b.settings.pinned) - Number(a.settings.pinned) || (b.last?.timestamp ?? 0) - (a.last?.timestamp ?? 0));
  const archived = all.filter((c) => c.settings.archived).length;
  $('show-archived').hidden = archived === 0;
  $('show-archived').textContent = showArchived ? 'Hide archived' : `Show archived (${archived})`;
  $('conversations').replaceChildren(...all.filter((c) => showArchived || !c.settings.archived).map((c) => {
    const s = c.settings;
    const badge = unread(c) ? String(unread(c)) : s.marked_unread ? '•' : '';
    return el('li', { className: `conv${c.id === active ? ' active' : ''}${s.pinned ? ' pinned' : ''}${s.archived ? ' archived' : ''}`, onclick: () => open(c.id), title: c.id, dataset: { id: c.id, muted: s.muted } },
      el('span', { className: 'name', textContent: `${s.pinned ? '📌 ' : ''}${title(c)}${s.muted !== 'none' ? ' 🔕' : ''}` }),
      badge ? el('span', { className: `badge${s.marked_unread ? ' marked' : ''}`, textContent: badge }) : null,
      el('div', { className: 'preview', textContent: c.last ? describe(c.last) : '' }),
      conversationActions(c));
  }));
}

/** Mute, pin, archive, mark unread: clicks here change settings, not open the conversation. */
function conversationActions(c) {
  const s = c.settings;
  const mute = el('select', { className: 'mute small', title: 'notifications', onchange: () => setSettings(c, { muted: mute.value }) },
    ...[['none', '🔔 all'], ['mentions', '@ mentions'], ['all', '🔕 muted']].map(([value, textContent]) => el('option', { value, textContent })));
  mute.value = s.muted;
  const button = (className, textContent, change) => el('button', { type: 'button', className: `small secondary ${className}`, textContent, onclick: () => setSettings(c, change) });
  return el('div', { className: 'conv-actions', onclick: (e) => e.stopPropagation() }, mute,
    button('pin', s.pinned ? 'Unpin' : 'Pin', { pinned: !s.pinned }),
    button('archive', s.archived ? 'Unarchive' : 'Archive', { archived: !s.archived }),
    s.marked_unread ? null : button('mark-unread', 'Mark unread', { marked_unread: true }));
}

function renderMessages() {
  const c = active && convs.get(active);
  $('chat-title').textContent = c ? title(c) : 'Pick a conversation';
  $('group-bar').hidden = c?.kind !== 'group';
  if (c?.kind !== 'group') $('members').hidden = true;
  renderChatPresence();
  $('older').hidden = !c?.hasOlder;
  const box = $('messages');
  const stick = box.scrollTop + box.clientHeight >= box.scrollHeight - 40;
  // Change events are applied to their targets (see `current`), not shown themselves.
  const msgs = c ? [...c.msgs.values()].filter((m) => !CHANGE_TYPES.has(m.content_type)).map(current).filter((m) => !m.deleted_for_me)
    .sort((a, b) => (a.sequence_number ?? Infinity) - (b.sequence_number ?? Infinity) || a.timestamp - b.timestamp) : [];
  box.replaceChildren(...msgs.map((m) => {
    const mine = m.sender === session.user_id;
    const system = m.content_type?.startsWith('system/');
    const state = m.state !== 'sent' ? m.state : mine && !system && c.kind === 'direct' ? tick(c, m) : '';
    const changeable = !system && !m.recalled && m.sequence_number;
    const reactions = (m.reactions || []).map((r) =>
      el('button', { type: 'button', className: `reaction small secondary${r.users.includes(session.user_id) ? ' mine' : ''}`, textContent: `${r.emoji} ${r.count}`, title: r.users.map(short).join(', '),
        onclick: () => change('react', m, { emoji: r.emoji, ...(r.users.includes(session.user_id) ? { remove: true } : {}) }) }));
    const media = m.media?.length ? m.media : null;
    return el('li', { className: `msg${mine ? ' mine' : ''}${system ? ' system' : ''}${m.recalled ? ' recalled' : ''}${media ? ' has-media' : ''}`, dataset: { seq: m.sequence_number ?? '', key: keyOf(m), kind: media ? m.content_type : '' } },
      system ? null : el('span', { className: 'from', textContent: mine ? 'you' : short(m.sender), title: m.sender }),
      m.forwarded_from && !m.recalled ? el('span', { className: 'forwarded', textContent: `forwarded from ${m.forwarded_from.sender === session.user_id ? 'you' : short(m.forwarded_from.sender)}`, title: m.forwarded_from.sender ?? '' }) : null,
      m.reply_to && !m.recalled ? el('blockquote', { className: 'quote', textContent: quoteText(m.reply_to) }) : null,
      media ? mediaView(m) : null,
      media && !m.content ? null : el('span', { className: 'text', textContent: describe(m) }),
      system ? noticeActions(m) : null,
      reactions.length ? el('span', { className: 'reactions' }, ...reactions) : null,
      el('span', { className: 'meta' },
        m.edited_at && !m.recalled ? el('span', { className: 'edited', textContent: 'edited ' }) : null,
        el('span', { className: 'seq', textContent: m.sequence_number ? `#${m.sequence_number}` : '' }),
        ` ${new Date(m.timestamp).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })}`,
        state ? el('span', { className: `state ${state.split(':')[0]}`, textContent: ` ${state}` }) : null,
        !m.sequence_number && state?.startsWith('failed') && media ? el('button', { type: 'button', className: 'dismiss small secondary', textContent: 'dismiss', onclick: () => (c.msgs.delete(keyOf(m)), renderMessages()) }) : null,
        seenBy.has(m.msg_id) ? el('span', { className: 'seen', textContent: ` ${seenBy.get(m.msg_id)}` }) : null),
      changeable ? el('span', { className: 'actions' },
        ...REACTIONS.map((e) => el('button', { type: 'button', className: 'react small secondary', textContent: e, title: `react ${e}`, onclick: () => change('react', m, { emoji: e }) })),
        el('button', { type: 'button', className: 'reply small secondary', textContent: 'reply', onclick: () => startCompose('reply', m) }),
        media ? null : el('button', { type: 'button', className: 'forward small secondary', textContent: 'forward', onclick: () => startCompose('forward', m) }),
        mine && m.content_type === 'text' ? el('button', { type: 'button', className: 'edit small secondary', textContent: 'edit', onclick: () => startEdit(m) }) : null,
        mine || c.kind === 'group' ? el('button', { type: 'button', className: 'recall small secondary', textContent: 'recall', onclick: () => change('recall_msg', m) }) : null,
        el('button', { type: 'button', className: 'delete small secondary', textContent: 'delete for me', onclick: () => change('delete_for_me', m) }),
        mine && c.kind === 'group' ? el('button', { type: 'button', className: 'seen-by small secondary', textContent: 'seen by', onclick: () => loadSeenBy(m) }) : null,
        !mine && c.kind === 'group' ? el('button', { type: 'button', className: 'report small secondary', textContent: 'report', onclick: () => report(c.with, { seq: m.sequence_number }) }) : null) : null);
  }));
  if (stick) box.scrollTop = box.scrollHeight;
}

/** A direct message's tick from the peer's positions: read, delivered, or just sent. */
const tick = (c, m) => (c.peerRead >= m.sequence_number ? 'read' : c.peerDelivered >= m.sequence_number ? 'delivered' : '');

// "Read by" and "delivered to" of one's own group messages, by server msg_id, as last asked.
const seenBy = new Map();
async function loadSeenBy(m) {
  try {
    const r = await api('GET', `/v1/conversations/${encodeURIComponent(m.conversation_id)}/messages/${m.sequence_number}/receipts?limit=10`);
    const names = (l) => l.users.map(short).join(', ') + (l.next_after ? '…' : '');
    seenBy.set(m.msg_id, `read by ${r.read.count}${r.read.count ? ` (${names(r.read)})` : ''} · delivered to ${r.delivered.count}`);
    renderMessages();
  } catch (err) {
    toast(`${err.code}: ${err.message}`, true);
  }
}

function setConn(state) {
  $('conn').textContent = state;
  $('conn').className = `conn ${state === 'online' ? 'on' : 'off'}`;
}

let toastTimer = null;
function toast(text, error = false) {
  $('toast').textContent = text;
  $('toast').className = `toast show${error ? ' error' : ''}`;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => ($('toast').className = 'toast'), 6000);
}

async function act(path, done, body) {
  try {
    await api('POST', path, body);
    toast(done);
  } catch (err) {
    toast(`${err.code}: ${err.message}`, true);
  }
}

// ---------- wiring ----------

function start() {
  $('auth').hidden = true;
  $('app').hidden = false;
  $('my-id').textContent = session.user_id;
  loadMyProfile();
  // Names on screen older than the profile TTL are asked for again (nameOf sees them stale).
  setInterval(renderPeople, PROFILE_TTL_MS);
  renderFriends();
  renderConversations();
  connect();
  if (active) open(active);
}

$('auth-form').onsubmit = (e) => (e.preventDefault(), login(false));
$('register-btn').onclick = () => ($('auth-form').reportValidity() ? login(true) : null);
$('logout').onclick = () => logout();
$('copy-id').onclick = () => navigator.clipboard?.writeText(session.user_id).then(() => toast('Copied your id'), () => toast('Select the id to copy it'));
$('friend-form').onsubmit = (e) => {
  e.preventDefault();
  addFriend($('friend-id').value.trim());
};
$('friend-id').oninput = searchPeople;
$('edit-profile').onclick = editProfile;
$('profile-form').onsubmit = (e) => (e.preventDefault(), saveProfile());
$('group-form').onsubmit = async (e) => {
  e.preventDefault();
  const members = $('group-members').value.split(/[\s,]+/).filter(Boolean);
  try {
    const { group_id } = await api('POST', '/v1/groups', { name: $('group-name').value.trim(), members });
    groups.set(group_id, $('group-name').value.trim());
    $('group-name').value = $('group-members').value = '';
    open(`g:${group_id}`);
  } catch (err) {
    toast(`${err.code}: ${err.message}`, true);
  }
};
$('send-form').onsubmit = (e) => {
  e.preventDefault();
  sendMessage($('send-text').value.trim());
  $('send-text').value = '';
};
$('send-text').oninput = () => {
  const c = convs.get(active);
  if (!c || Date.now() - lastTypingSent < 3000) return;
  lastTypingSent = Date.now();
  send({ type: 'typing', recipient: c.with, recipient_type: c.kind === 'group' ? 'group' : 'user', active: true });
};
$('older').onclick = () => active && open(active, true);
$('attach-btn').onclick = () => $('attach-input').click();
$('viewer').onclick = (e) => {
  if (e.target === $('viewer-download')) return;
  $('viewer').hidden = true;
  $('viewer-img').removeAttribute('src');
};
$('attach-input').onchange = () => {
  attachFiles([...$('attach-input').files]);
  $('attach-input').value = '';
};
// Files dropped anywhere on the open conversation are attached to it.
const chat = document.querySelector('.chat');
const carriesFiles = (e) => [...(e.dataTransfer?.types || [])].includes('Files');
chat.addEventListener('dragover', (e) => {
  if (!carriesFiles(e) || !active) return;
  e.preventDefault();
  chat.classList.add('dropping');
});
chat.addEventListener('dragleave', (e) => e.target === chat && chat.classList.remove('dropping'));
chat.addEventListener('drop', (e) => {
  chat.classList.remove('dropping');
  if (!carriesFiles(e) || !active) return;
  e.preventDefault();
  attachFiles([...e.dataTransfer.files]);
});
$('show-archived').onclick = () => ((showArchived = !showArchived), renderConversations());
$('invite-btn').onclick = inviteToGroup;
$('link-btn').onclick = createLink;
$('members-btn').onclick = loadMembers;
$('join-form').onsubmit = (e) => (e.preventDefault(), joinGroup($('join-code').value.trim()));
$('compose-cancel').onclick = () => stopCompose();
$('forward-btn').onclick = () => forwardTo($('forward-to').value);
document.addEventListener('visibilitychange', markRead);
document.addEventListener('visibilitychange', sendMyStatus);
$('my-status').onchange = sendMyStatus;

const notice = store.getItem('im.notice');
store.removeItem('im.notice');
if (session) {
  saveSession({ ...session, expires_in: (session.expires_at - Date.now()) / 1000 });
  start();
} else {
  $('auth').hidden = false;
  if (notice) $('auth-error').textContent = notice;
}
