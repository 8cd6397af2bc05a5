import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page, type Route } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';

/**
 * The web client in a real browser: Debian's Chromium (`apt-get install chromium`) driven by
 * playwright-core, against `ops/bin/run.ts` (the whole platform, in-memory engine) serving
 * edge/web at `/`. Two users register, befriend each other through the page, chat 1:1 and in
 * a group, and one page reloads and goes away and back (reconnect, history, catch-up); one
 * edits, reacts and recalls, and the other page, a reload and a second device converge; one
 * deletes a message for themselves only. People show by display name: alice finds bob by the
 * start of his username, a name nobody has is refused, and her profile change shows after bob's reload;
 * alice sees bob online, away, and offline with his last seen.
 * Two more reply with a quote, forward into a group with
 * the attribution, see delivered and read ticks and a group message's "seen by" from the server
 * (after a reload too), and a quote turn into a tombstone when its message is recalled.
 * A fifth pins, archives, mutes and marks a conversation unread from the list, and her second device follows.
 * A group grows by an invite accepted from the notices, an invite link's code and a join request
 * approved from the notices; its owner makes a member admin and member again from the members list;
 * members report a message and a member, and the owner reads the reports in her notices.
 * Media: one attaches a PNG (a progress bar while its PUT runs), the other sees a placeholder, then
 * the thumbnail once MEDIA_READY says it exists, also after a reload; a type not allowed and a
 * file over the (small, configured) limit are refused in words in the conversation; a file comes
 * with a download link that downloads it, one dropped on the conversation is sent too; a recalled
 * image becomes the tombstone. Once on the local store the platform serves at
 * /v1/media/blob/:token, once on the stack's SeaweedFS (IM_S3_ENDPOINT_TEST, default :8333, as the
 * object store's contract suite), with a platform of its own.
 * Chromium missing is a failure, not a skip: the stack install script provides it.
 */
const CHROMIUM = process.env.IM_CHROMIUM_PATH ?? '/usr/bin/chromium';
const SCREENSHOT = '/tmp/im-web-client.png';
const WAIT = 20_000;
const FILE_LIMIT = 64 * 1024;

/** Every platform process started (the shared one, and the media test's on S3), stopped at the end. */
const platforms: ChildProcess[] = [];
/** Their local media directories, removed at the end. */
const mediaDirs: string[] = [];
let browser: Browser | undefined;
let base = '';
let output = '';
const pageErrors: string[] = [];
const pages: Page[] = [];
/** Recent WebSocket frames of every page, printed when the test fails. */
const frames: string[] = [];

/** A port free now: the local media store signs URLs with the edge's configured port, so it cannot be 0. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/**
 * The platform on the embedded engine; `store` is where its media go: a directory of this run,
 * served by the platform (the local store), or an S3 endpoint. Files over 64 KiB are refused,
 * so the test shows MEDIA_TOO_LARGE without a big upload.
 */
async function startPlatform(store: { s3Endpoint?: string } = {}): Promise<string> {
  const env: NodeJS.ProcessEnv = { ...process.env, IM_EDGE_PORT: String(await freePort()), IM_EDGE_HOST: '127.0.0.1', IM_LOG_LEVEL: 'warn', IM_MEDIA_FILE_MAX_BYTES: String(FILE_LIMIT), IM_MEDIA_DIR: mkdtempSync(join(tmpdir(), 'im-web-media-')) };
  mediaDirs.push(env.IM_MEDIA_DIR!);
  // Always the embedded engine and in-process stores, whatever the suite's environment points at.
  for (const k of ['IM_S3_ENDPOINT', 'IM_S3_PUBLIC_ENDPOINT', 'IM_MEDIA_PUBLIC_URL', 'IM_ENGINE', 'IM_KAFKA_BROKERS', 'IM_SCHEMA_REGISTRY_URL', 'IM_REDIS_URL', 'IM_MONGO_URL', 'IM_MODE', 'IM_EDGE_STATIC_DIR', 'IM_ALLOWED_ORIGINS']) delete env[k];
  if (store.s3Endpoint) env.IM_S3_ENDPOINT = store.s3Endpoint;
  const child = spawn(process.execPath, ['--import', 'tsx', 'ops/bin/run.ts'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  platforms.push(child);
  let mine = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`platform did not start within 40 s:\n${mine}`)), 40_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      mine += chunk.toString();
      const m = /web client\s+(http:\/\/\S+?)\/?\s/.exec(mine);
      if (m?.[1]) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`platform exited with ${code}:\n${mine}`));
    });
  });
}

async function newPage(): Promise<Page> {
  const context = await browser!.newContext({ viewport: { width: 1100, height: 720 } });
  const page = await context.newPage();
  const n = pages.push(page);
  page.on('pageerror', (err) => pageErrors.push(String(err)));
  // The page reports frames it could not handle on the console; a missing favicon is no error.
  page.on('console', (msg) => msg.type() === 'error' && !msg.text().startsWith('Failed to load resource') && pageErrors.push(msg.text()));
  page.on('websocket', (ws) => {
    const log = (dir: string) => (f: { payload: string | Buffer }) => frames.push(`page${n} ${dir} ${String(f.payload).slice(0, 300)}`);
    ws.on('framesent', log('>'));
    ws.on('framereceived', log('<'));
    ws.on('close', () => frames.push(`page${n} closed`));
  });
  return page;
}

async function register(page: Page, username: string, displayName: string, at = base): Promise<string> {
  await page.goto(at);
  await page.fill('#username', username);
  await page.fill('#password', 'correct horse battery');
  await page.fill('#display-name', displayName);
  await page.click('#register-btn');
  await page.locator('#conn', { hasText: 'online' }).waitFor({ timeout: WAIT });
  const id = (await page.textContent('#my-id'))!.trim();
  expect(id).toMatch(/^[0-9a-f-]{36}$/);
  return id;
}

/** The message bubble with this text; waits until the server has stamped it and returns its seq. */
async function seqOf(page: Page, text: string): Promise<number> {
  const bubble = page.locator('#messages li.msg', { hasText: text });
  await bubble.locator('.seq', { hasText: /^#\d+$/ }).waitFor({ timeout: WAIT });
  return Number((await bubble.locator('.seq').textContent())!.slice(1));
}

async function say(page: Page, text: string): Promise<number> {
  await page.fill('#send-text', text);
  await page.press('#send-text', 'Enter');
  return seqOf(page, text);
}

const conversation = (page: Page, name: string) => page.locator('#conversations li.conv', { hasText: name });
const bubble = (page: Page, text: string) => page.locator('#messages li.msg', { hasText: text });

/** `asker` sends a friend request by id through the page, `accepter` accepts it; both see the friendship, by display name. */
async function befriendOnPages(asker: Page, askerName: string, accepter: Page, accepterId: string, accepterName: string): Promise<void> {
  await asker.fill('#friend-id', accepterId);
  await asker.click('#friend-form button');
  const request = accepter.locator('#requests li', { hasText: askerName });
  await request.waitFor({ timeout: WAIT });
  await request.locator('button', { hasText: 'Accept' }).click();
  await asker.locator('#friends li', { hasText: accepterName }).waitFor({ timeout: WAIT });
}

describe('web client in Chromium', () => {
  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}: install it (apt-get install -y chromium) or set IM_CHROMIUM_PATH`);
    base = await startPlatform();
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await Promise.all(platforms.filter((p) => p.exitCode === null).map(async (platform) => {
      const exited = new Promise((r) => platform.once('exit', r));
      platform.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (platform.exitCode === null) platform.kill('SIGKILL');
    }));
    for (const dir of mediaDirs) rmSync(dir, { recursive: true, force: true });
  });

  it('two users befriend, chat 1:1 and in a group, and catch up after a reload and an absence', async () => {
    onTestFailed(async () => {
      await Promise.all(pages.map((p, i) => p.screenshot({ path: `/tmp/im-web-client-failed-${i + 1}.png` }).catch(() => {})));
      console.error(`failure screenshots: /tmp/im-web-client-failed-*.png\nlast frames:\n${frames.slice(-40).join('\n')}\nplatform output:\n${output.slice(-4000)}`);
    });
    const alice = await newPage();
    const bob = await newPage();
    const aliceId = await register(alice, 'alice', 'Alice Liddell');
    await register(bob, 'bob', 'Bob Builder');
    // People are shown by display name, never by a piece of their id.
    let [aliceShort, bobShort] = ['Alice Liddell', 'Bob Builder'];
    await alice.locator('#my-name', { hasText: 'Alice Liddell (@alice)' }).waitFor({ timeout: WAIT });

    // Friends through the page: a username nobody has is refused; alice finds bob by the start of
    // his username and adds him; bob accepts the request the system message brought.
    await alice.fill('#friend-id', 'nobody-here');
    await alice.click('#friend-form button');
    await alice.locator('#toast.error', { hasText: 'USER_NOT_FOUND' }).waitFor({ timeout: WAIT });
    await alice.fill('#friend-id', 'bo');
    await alice.locator('#people li', { hasText: 'Bob Builder @bob' }).locator('button', { hasText: 'Add' }).click();
    await alice.locator('#toast', { hasText: 'Friend request sent to @bob' }).waitFor({ timeout: WAIT });
    // Her own "sent a friend request" notice is no unread message.
    const sentNotice = conversation(alice, `@ ${bobShort}`).filter({ hasText: 'you sent a friend request' });
    await sentNotice.waitFor({ timeout: WAIT });
    expect(await sentNotice.locator('.badge').count()).toBe(0);
    const request = bob.locator('#requests li', { hasText: aliceShort });
    await request.waitFor({ timeout: WAIT });
    await request.locator('button', { hasText: 'Accept' }).click();
    await alice.locator('#friends li', { hasText: bobShort }).waitFor({ timeout: WAIT });
    await bob.locator('#friends li', { hasText: aliceShort }).waitFor({ timeout: WAIT });
    expect(await bob.locator('#requests li').count()).toBe(0);
    // Friends see each other's presence: online, then away when bob says so, then online again.
    const bobFor = (page: Page, state: string) => page.locator(`#friends li[data-presence="${state}"]`, { hasText: bobShort });
    await bobFor(alice, 'online').waitFor({ timeout: WAIT });
    await bob.selectOption('#my-status', 'away');
    await bobFor(alice, 'away').locator('.seen', { hasText: 'away' }).waitFor({ timeout: WAIT });
    await bob.selectOption('#my-status', 'online');
    await bobFor(alice, 'online').waitFor({ timeout: WAIT });

    // 1:1 both ways, each side seeing the other's message with the same sequence number.
    await alice.locator('#friends li', { hasText: bobShort }).locator('button', { hasText: 'Chat' }).click();
    const helloSeq = await say(alice, 'hello bob');
    const bobsDirect = conversation(bob, `@ ${aliceShort}`);
    await bobsDirect.locator('.badge').waitFor({ timeout: WAIT });
    await bobsDirect.click();
    expect(await seqOf(bob, 'hello bob')).toBe(helloSeq);
    expect(await bob.locator('#messages li.msg', { hasText: 'hello bob' }).locator('.from').textContent()).toBe(aliceShort);
    const replySeq = await say(bob, 'hi alice');
    expect(replySeq).toBe(helloSeq + 1);
    expect(await seqOf(alice, 'hi alice')).toBe(replySeq);
    // Bob had the conversation open: alice's message shows his read receipt.
    await alice.locator('#messages li.msg.mine', { hasText: 'hello bob' }).locator('.state.read').waitFor({ timeout: WAIT });

    // A group with both; alice writes once it exists, bob finds it in his list.
    await alice.fill('#group-name', 'team');
    await alice.fill('#group-members', (await bob.textContent('#my-id'))!.trim());
    await alice.click('#group-form button');
    await alice.locator('#messages li.system', { hasText: 'created the group' }).waitFor({ timeout: WAIT });
    await expect.poll(() => alice.textContent('#chat-title'), { timeout: WAIT }).toBe('# team');
    const teamSeq = await say(alice, 'hello team');
    await conversation(bob, '# team').click();
    expect(await seqOf(bob, 'hello team')).toBe(teamSeq);
    expect(await say(bob, 'team reply')).toBe(teamSeq + 1);
    await seqOf(alice, 'team reply');

    // Alice edits her profile; bob's reload (below) shows the new name everywhere.
    await alice.click('#edit-profile');
    await alice.fill('#profile-name', 'Alice L.');
    await alice.fill('#profile-avatar', 'javascript:alert(1)');
    await alice.click('#profile-form button');
    await alice.locator('#toast.error', { hasText: 'BAD_REQUEST' }).waitFor({ timeout: WAIT });
    await alice.fill('#profile-avatar', '');
    await alice.fill('#profile-bio', 'down the rabbit hole');
    await alice.click('#profile-form button');
    await alice.locator('#my-name', { hasText: 'Alice L. (@alice)' }).waitFor({ timeout: WAIT });
    aliceShort = 'Alice L.';

    // Reload: the session, the open conversation and its history come back, and the socket reconnects.
    await bob.reload();
    await bob.locator('#friends li', { hasText: aliceShort }).waitFor({ timeout: WAIT });
    await bob.locator('#conn', { hasText: 'online' }).waitFor({ timeout: WAIT });
    expect(await bob.textContent('#chat-title')).toBe('# team');
    expect(await seqOf(bob, 'hello team')).toBe(teamSeq);
    expect(await seqOf(bob, 'team reply')).toBe(teamSeq + 1);
    // ... and live messages flow again.
    const liveSeq = await say(alice, 'still there?');
    expect(await seqOf(bob, 'still there?')).toBe(liveSeq);

    // Away and back: what alice sent meanwhile shows up unread, then in the history.
    await bob.goto('about:blank');
    await bobFor(alice, 'offline').locator('.seen', { hasText: 'last seen' }).waitFor({ timeout: WAIT });
    const awaySeq = await say(alice, 'sent while you were away');
    await alice.locator('#friends li', { hasText: bobShort }).locator('button', { hasText: 'Chat' }).click();
    const directAway = await say(alice, 'direct while away');
    await bob.goto(base);
    await bob.locator('#conn', { hasText: 'online' }).waitFor({ timeout: WAIT });
    expect(await seqOf(bob, 'sent while you were away')).toBe(awaySeq);
    await expect.poll(() => conversation(bob, `@ ${aliceShort}`).locator('.badge').textContent(), { timeout: WAIT }).toBe('1');
    await conversation(bob, `@ ${aliceShort}`).click();
    expect(await seqOf(bob, 'direct while away')).toBe(directAway);
    expect(await seqOf(bob, 'hello bob')).toBe(helloSeq);

    // Changing messages (both have the direct conversation open): alice edits her text, bob
    // reacts to it, alice recalls another; both pages converge, and so do a reload and a new device.
    await say(alice, 'typo mesage');
    await bubble(alice, 'typo mesage').locator('button.edit').click();
    await alice.fill('#send-text', 'typo message fixed');
    await alice.press('#send-text', 'Enter');
    for (const page of [alice, bob]) await bubble(page, 'typo message fixed').locator('.edited').waitFor({ timeout: WAIT });
    expect(await bob.locator('#messages li.msg', { hasText: 'typo mesage' }).count()).toBe(0);
    await bubble(bob, 'typo message fixed').locator('.actions button.react', { hasText: '👍' }).click();
    for (const page of [alice, bob]) await bubble(page, 'typo message fixed').locator('.reactions button', { hasText: '👍 1' }).waitFor({ timeout: WAIT });
    const oopsSeq = await say(alice, 'oops, wrong chat');
    await seqOf(bob, 'oops, wrong chat');
    await bubble(alice, 'oops, wrong chat').locator('button.recall').click();
    for (const page of [alice, bob]) {
      await page.locator(`#messages li.msg.recalled[data-seq="${oopsSeq}"]`, { hasText: 'message recalled' }).waitFor({ timeout: WAIT });
      await expect.poll(() => page.locator('#messages li.msg', { hasText: 'oops, wrong chat' }).count(), { timeout: WAIT }).toBe(0);
    }
    // History after a reload, and a second device of alice logging in, show the same.
    await bob.reload();
    const aliceTablet = await newPage();
    await aliceTablet.goto(base);
    await aliceTablet.fill('#username', 'alice');
    await aliceTablet.fill('#password', 'correct horse battery');
    await aliceTablet.click('#login-btn');
    await aliceTablet.locator('#conn', { hasText: 'online' }).waitFor({ timeout: WAIT });
    await conversation(aliceTablet, `@ ${bobShort}`).click();
    for (const page of [bob, aliceTablet]) {
      await bubble(page, 'typo message fixed').locator('.reactions button', { hasText: '👍 1' }).waitFor({ timeout: WAIT });
      await page.locator(`#messages li.msg.recalled[data-seq="${oopsSeq}"]`).waitFor({ timeout: WAIT });
      expect(await page.locator('#messages li.msg', { hasText: 'oops, wrong chat' }).count()).toBe(0);
    }

    // Delete for me: gone from bob's view, still in alice's.
    await bubble(bob, 'direct while away').locator('button.delete').click();
    await expect.poll(() => bob.locator('#messages li.msg', { hasText: 'direct while away' }).count(), { timeout: WAIT }).toBe(0);
    expect(await alice.locator('#messages li.msg', { hasText: 'direct while away' }).count()).toBe(1);

    // Server refusals are shown.
    await alice.fill('#friend-id', 'not a valid id');
    await alice.click('#friend-form button');
    await alice.locator('#toast.error', { hasText: 'BAD_REQUEST' }).waitFor({ timeout: WAIT });

    await alice.screenshot({ path: SCREENSHOT });
    expect(pageErrors).toEqual([]);
  }, 180_000);

  it('replies show the quoted message, forwards their original sender, ticks and "seen by" come from the server, also after a reload', async () => {
    const carol = await newPage();
    const dave = await newPage();
    await register(carol, 'carol', 'Carol Ames');
    const daveId = await register(dave, 'dave', 'Dave Brook');
    await befriendOnPages(carol, 'Carol Ames', dave, daveId, 'Dave Brook');
    await carol.locator('#friends li', { hasText: 'Dave Brook' }).locator('button', { hasText: 'Chat' }).click();
    const askSeq = await say(carol, 'where shall we meet?');
    await conversation(dave, '@ Carol Ames').click();
    await seqOf(dave, 'where shall we meet?');

    // Dave replies: the quote shows at once on his page, on carol's from the server, and after her reload.
    await bubble(dave, 'where shall we meet?').locator('button.reply').click();
    await dave.locator('#compose-text', { hasText: 'replying to' }).waitFor({ timeout: WAIT });
    expect(await say(dave, 'at the station')).toBe(askSeq + 1);
    for (const page of [dave, carol]) await bubble(page, 'at the station').locator('.quote', { hasText: 'where shall we meet?' }).waitFor({ timeout: WAIT });
    await carol.reload();
    await bubble(carol, 'at the station').locator('.quote', { hasText: 'you: where shall we meet?' }).waitFor({ timeout: WAIT });

    // Carol forwards dave's answer into a new group: attributed to dave on both pages.
    await carol.fill('#group-name', 'trip');
    await carol.fill('#group-members', daveId);
    await carol.click('#group-form button');
    await expect.poll(() => carol.textContent('#chat-title'), { timeout: WAIT }).toBe('# trip');
    const groupId = (await conversation(carol, '# trip').getAttribute('data-id'))!;
    await conversation(carol, '@ Dave Brook').click();
    await bubble(carol, 'at the station').locator('button.forward').click();
    await carol.selectOption('#forward-to', groupId);
    await carol.click('#forward-btn');
    await expect.poll(() => carol.textContent('#chat-title'), { timeout: WAIT }).toBe('# trip');
    await seqOf(carol, 'at the station');
    await conversation(dave, '# trip').click();
    for (const page of [carol, dave]) await bubble(page, 'at the station').locator('.forwarded', { hasText: page === dave ? 'forwarded from you' : 'forwarded from Dave Brook' }).waitFor({ timeout: WAIT });

    // Receipts from the server: dave has the group open, so he reads carol's message there ("seen by");
    // in the direct conversation, which he is not looking at, hers is delivered, then read once he opens it, and stays so after her reload.
    await say(carol, 'see you there');
    await seqOf(dave, 'see you there');
    await expect.poll(async () => {
      await bubble(carol, 'see you there').locator('button.seen-by').click();
      return bubble(carol, 'see you there').locator('.seen').textContent();
    }, { timeout: WAIT }).toContain('read by 1');
    await conversation(carol, '@ Dave Brook').click();
    await say(carol, 'bring snacks');
    await bubble(carol, 'bring snacks').locator('.state.delivered').waitFor({ timeout: WAIT });
    await conversation(dave, '@ Carol Ames').click();
    await bubble(carol, 'bring snacks').locator('.state.read').waitFor({ timeout: WAIT });
    await carol.reload();
    await bubble(carol, 'bring snacks').locator('.state.read').waitFor({ timeout: WAIT });
    await conversation(dave, '# trip').click();

    // Carol recalls her question: dave's quote of it becomes a tombstone.
    await conversation(carol, '@ Dave Brook').click();
    await bubble(carol, 'where shall we meet?').locator('button.recall').click();
    await conversation(dave, '@ Carol Ames').click();
    await bubble(dave, 'at the station').locator('.quote', { hasText: 'message recalled' }).waitFor({ timeout: WAIT });
    await dave.screenshot({ path: '/tmp/im-web-client-replies.png' });
    expect(pageErrors).toEqual([]);
  }, 120_000);

  it('conversation settings: pin, archive, mute and mark unread from the list, on a second device live and after logging in', async () => {
    const erin = await newPage();
    const fred = await newPage();
    await register(erin, 'erin_settings', 'Erin Stone');
    const fredId = await register(fred, 'fred_settings', 'Fred Lake');
    await befriendOnPages(erin, 'Erin Stone', fred, fredId, 'Fred Lake');
    await erin.locator('#friends li', { hasText: 'Fred Lake' }).locator('button', { hasText: 'Chat' }).click();
    await say(erin, 'hi fred');
    await erin.fill('#group-name', 'book club');
    await erin.fill('#group-members', fredId);
    await erin.click('#group-form button');
    await expect.poll(() => erin.textContent('#chat-title'), { timeout: WAIT }).toBe('# book club');
    await say(erin, 'club news');
    const names = (page: Page) => page.locator('#conversations li.conv .name').allTextContents();
    await expect.poll(async () => (await names(erin))[0], { timeout: WAIT }).toBe('# book club');

    // Pinned comes first; a second device logging in finds it so.
    await conversation(erin, 'Fred Lake').locator('button.pin').click();
    await expect.poll(async () => (await names(erin))[0], { timeout: WAIT }).toBe('📌 @ Fred Lake');
    const tablet = await newPage();
    await tablet.goto(base);
    await tablet.fill('#username', 'erin_settings');
    await tablet.fill('#password', 'correct horse battery');
    await tablet.click('#login-btn');
    await tablet.locator('#conn', { hasText: 'online' }).waitFor({ timeout: WAIT });
    await expect.poll(async () => (await names(tablet))[0], { timeout: WAIT }).toBe('📌 @ Fred Lake');

    // Archived on the tablet: hidden on both pages, under the toggle.
    await conversation(tablet, '# book club').locator('button.archive').click();
    for (const page of [erin, tablet]) {
      await expect.poll(() => conversation(page, '# book club').count(), { timeout: WAIT }).toBe(0);
      await page.locator('#show-archived', { hasText: 'Show archived (1)' }).waitFor({ timeout: WAIT });
    }
    await erin.click('#show-archived');
    await conversation(erin, '# book club').locator('button.archive', { hasText: 'Unarchive' }).waitFor({ timeout: WAIT });

    // Muted for all but mentions on erin's page: the tablet shows it live.
    await conversation(erin, 'Fred Lake').locator('select.mute').selectOption('mentions');
    await tablet.locator('#conversations li.conv[data-muted="mentions"]', { hasText: 'Fred Lake' }).waitFor({ timeout: WAIT });
    expect(await conversation(tablet, 'Fred Lake').locator('select.mute').inputValue()).toBe('mentions');

    // Marked unread: a badge on both; opening it reads it, and the mark goes on both.
    await conversation(erin, '# book club').click();
    await conversation(erin, 'Fred Lake').locator('button.mark-unread').click();
    for (const page of [erin, tablet]) await conversation(page, 'Fred Lake').locator('.badge.marked').waitFor({ timeout: WAIT });
    await conversation(tablet, 'Fred Lake').click();
    for (const page of [erin, tablet]) await expect.poll(() => conversation(page, 'Fred Lake').locator('.badge').count(), { timeout: WAIT }).toBe(0);
    await erin.screenshot({ path: '/tmp/im-web-client-settings.png' });
    expect(pageErrors).toEqual([]);
  }, 120_000);
  it('a group grows by invite, invite link and join request, its owner promotes and demotes, members report', async () => {
    const [erin, fred, gina, hank] = [await newPage(), await newPage(), await newPage(), await newPage()];
    await register(erin, 'erin', 'Erin Owner');
    await register(fred, 'fred', 'Fred Invitee');
    await register(gina, 'gina', 'Gina Linker');
    await register(hank, 'hank', 'Hank Asker');
    await erin.fill('#group-name', 'club');
    await erin.click('#group-form button');
    await expect.poll(() => erin.textContent('#chat-title'), { timeout: WAIT }).toBe('# club');
    const groupId = (await conversation(erin, '# club').getAttribute('data-id'))!.slice(2);
    await erin.locator('#group-bar').waitFor({ timeout: WAIT });

    // Invite by username: fred answers in his notices, then has the group.
    await erin.fill('#invite-who', 'fred');
    await erin.click('#invite-btn');
    await conversation(fred, 'Notices (you)').click();
    await bubble(fred, 'Erin Owner invited you to “club”').locator('button.invite-accept').click();
    await conversation(fred, '# club').click();
    await bubble(fred, 'you accepted the invite and joined').waitFor({ timeout: WAIT });
    await bubble(erin, 'Fred Invitee accepted the invite and joined').waitFor({ timeout: WAIT });

    // An invite link: erin creates it, gina joins by its code.
    await erin.click('#link-btn');
    await erin.locator('#link-code', { hasText: `${groupId}:` }).waitFor({ timeout: WAIT });
    await gina.fill('#join-code', (await erin.textContent('#link-code'))!.trim());
    await gina.click('#join-form button');
    await conversation(gina, '# club').click();
    await bubble(erin, 'Gina Linker joined with an invite link').waitFor({ timeout: WAIT });

    // A join request by group id: erin approves it from her notices; hank is told and in.
    await hank.fill('#join-code', groupId);
    await hank.click('#join-form button');
    await conversation(erin, 'Notices (you)').click();
    await bubble(erin, 'Hank Asker asks to join “club”').locator('button.request-approve').click();
    await conversation(hank, 'Notices (you)').click();
    await bubble(hank, 'your request to join “club” was approved').waitFor({ timeout: WAIT });
    await conversation(hank, '# club').click();
    await bubble(hank, 'you joined, approved by Erin Owner').waitFor({ timeout: WAIT });

    // Roles: erin makes fred an admin and a member again; everyone sees it in the group.
    await conversation(erin, '# club').click();
    await erin.click('#members-btn');
    await erin.locator('#members li', { hasText: 'Fred Invitee' }).locator('button.promote').click();
    await bubble(gina, 'Erin Owner made Fred Invitee admin').waitFor({ timeout: WAIT });
    await erin.locator('#members li[data-role="admin"]', { hasText: 'Fred Invitee' }).locator('button.demote').click();
    await bubble(gina, 'Erin Owner made Fred Invitee member').waitFor({ timeout: WAIT });
    await erin.locator('#members li[data-role="member"]', { hasText: 'Fred Invitee' }).waitFor({ timeout: WAIT });
    // The newcomers talk in the group.
    const seq = await say(gina, 'hi club');
    for (const page of [erin, fred, hank]) expect(await seqOf(page, 'hi club')).toBe(seq);
    // Reports: fred reports gina's message, hank reports fred from the members list; erin, the owner, is told.
    fred.once('dialog', (d) => void d.accept('looks like spam'));
    await bubble(fred, 'hi club').locator('button.report').click();
    await fred.locator('#toast', { hasText: 'Report sent' }).waitFor({ timeout: WAIT });
    await hank.click('#members-btn');
    hank.once('dialog', (d) => void d.accept('rude to me'));
    await hank.locator('#members li', { hasText: 'Fred Invitee' }).locator('button.report-user').click();
    await conversation(erin, 'Notices (you)').click();
    await bubble(erin, `Fred Invitee reported a message (#${seq}) of Gina Linker in “club”: looks like spam`).waitFor({ timeout: WAIT });
    await bubble(erin, 'Hank Asker reported Fred Invitee in “club”: rude to me').waitFor({ timeout: WAIT });
    await erin.screenshot({ path: '/tmp/im-web-client-groups.png' });
    expect(pageErrors).toEqual([]);
  }, 150_000);

  it('media on the local store: attach with progress, thumbnail after MEDIA_READY, refusals in words, a download link, recall, history', () => mediaConversation(base, 'local'), 120_000);

  it("media on the stack's S3 store (SeaweedFS): the page PUTs to the bucket and shows its presigned thumbnails and downloads", async () => {
    const s3 = await startPlatform({ s3Endpoint: process.env.IM_S3_ENDPOINT_TEST ?? 'http://127.0.0.1:8333' });
    await mediaConversation(s3, 's3');
  }, 150_000);
});

/**
 * Ivy sends Jack a picture, two refused files and a text file on the platform at `at`; `store`
 * names the users and the screenshot. See the file's comment.
 */
async function mediaConversation(at: string, store: string): Promise<void> {
  const ivy = await newPage();
  const jack = await newPage();
  await register(ivy, `ivy_${store}`, 'Ivy Media', at);
  const jackId = await register(jack, `jack_${store}`, 'Jack Media', at);
  await befriendOnPages(ivy, 'Ivy Media', jack, jackId, 'Jack Media');
  await ivy.locator('#friends li', { hasText: 'Jack Media' }).locator('button', { hasText: 'Chat' }).click();
  await say(ivy, 'photos coming');
  await conversation(jack, '@ Ivy Media').click();
  await seqOf(jack, 'photos coming');

  // A PNG drawn by the browser itself (96x64, red and blue halves).
  // (Page code as strings: this file is compiled without the DOM's types.)
  const png = Buffer.from(await ivy.evaluate<string>(`(() => {
    const canvas = Object.assign(document.createElement('canvas'), { width: 96, height: 64 });
    const g = canvas.getContext('2d');
    g.fillStyle = '#d22';
    g.fillRect(0, 0, 48, 64);
    g.fillStyle = '#22d';
    g.fillRect(48, 0, 48, 64);
    return canvas.toDataURL('image/png').split(',')[1];
  })()`), 'base64');

  // The PUT is held until the progress bar has been seen: on loopback it would be over at once.
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  const holdPuts = async (route: Route): Promise<void> => {
    if (route.request().method() !== 'PUT') return route.fallback();
    await held;
    await route.continue();
  };
  await ivy.route('**/*', holdPuts);
  await ivy.fill('#send-text', 'a red and blue flag');
  await ivy.setInputFiles('#attach-input', { name: 'flag.png', mimeType: 'image/png', buffer: png });
  const uploading = ivy.locator('#messages li.msg.mine', { hasText: 'flag.png' }).locator('progress.upload-progress');
  await uploading.waitFor({ timeout: WAIT });
  expect(await ivy.inputValue('#send-text')).toBe('');
  release();
  const flagSeq = await seqOf(ivy, 'a red and blue flag');
  await ivy.unroute('**/*', holdPuts);
  expect(await uploading.count()).toBe(0);

  // Jack: the caption, then the thumbnail once MEDIA_READY says there is one; it really loads.
  expect(await seqOf(jack, 'a red and blue flag')).toBe(flagSeq);
  const jackFlag = bubble(jack, 'a red and blue flag');
  const thumb = jackFlag.locator('img.media-thumb');
  await thumb.waitFor({ timeout: WAIT });
  await expect.poll(() => thumb.evaluate((img) => ((img as unknown as { complete: boolean }).complete ? (img as unknown as { naturalWidth: number }).naturalWidth : 0)), { timeout: WAIT }).toBeGreaterThan(0);
  await jack.screenshot({ path: `/tmp/im-web-client-media-${store}-thumbnail.png` });
  // Clicking it shows the original (96 px wide, the thumbnail is no bigger), and a click closes it.
  await thumb.click();
  await expect.poll(() => jack.locator('#viewer-img').evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth), { timeout: WAIT }).toBe(96);
  await jack.click('#viewer');
  await jack.locator('#viewer').waitFor({ state: 'hidden', timeout: WAIT });

  // Refused in words, in the conversation: a type not allowed, a file over the limit.
  await ivy.setInputFiles('#attach-input', { name: 'setup.exe', mimeType: 'application/x-msdownload', buffer: Buffer.from('MZ\u0090\u0000 not really a program') });
  await ivy.locator('#messages li.msg.mine', { hasText: 'setup.exe' }).locator('.state.failed', { hasText: 'files of type application/x-msdownload are not allowed' }).waitFor({ timeout: WAIT });
  await ivy.setInputFiles('#attach-input', { name: 'big.txt', mimeType: 'text/plain', buffer: Buffer.alloc(2 * FILE_LIMIT, 'a') });
  await ivy.locator('#messages li.msg.mine', { hasText: 'big.txt' }).locator('.state.failed', { hasText: 'is too large (128 KB): the limit for files is 64 KB' }).waitFor({ timeout: WAIT });
  await ivy.locator('#messages li.msg.mine', { hasText: 'big.txt' }).locator('button.dismiss').click();
  await expect.poll(() => ivy.locator('#messages li.msg', { hasText: 'big.txt' }).count(), { timeout: WAIT }).toBe(0);

  // A file: name, size and a download link that downloads its bytes.
  const notes = 'meeting notes\nsecond line\n';
  await ivy.setInputFiles('#attach-input', { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from(notes) });
  await seqOf(ivy, 'notes.txt');
  const jackNotes = bubble(jack, 'notes.txt');
  await jackNotes.locator('.size', { hasText: `${notes.length} B` }).waitFor({ timeout: WAIT });
  const link = jackNotes.locator('a.media-download');
  await expect.poll(() => link.getAttribute('href'), { timeout: WAIT }).not.toBe('#');
  const [download] = await Promise.all([jack.waitForEvent('download'), link.click()]);
  expect(download.suggestedFilename()).toBe('notes.txt');
  expect(readFileSync((await download.path())!, 'utf8')).toBe(notes);

  // A file dropped on the conversation is attached the same way.
  await ivy.evaluate(`(() => {
    const dt = new DataTransfer();
    dt.items.add(new File(['dropped on the chat'], 'dropped.txt', { type: 'text/plain' }));
    const chat = document.querySelector('.chat');
    for (const type of ['dragover', 'drop']) chat.dispatchEvent(new DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true }));
  })()`);
  await seqOf(ivy, 'dropped.txt');
  await bubble(jack, 'dropped.txt').locator('a.media-download').waitFor({ timeout: WAIT });

  // History shows the thumbnail too; a recalled image is the tombstone on both pages.
  await jack.reload();
  await bubble(jack, 'a red and blue flag').locator('img.media-thumb').waitFor({ timeout: WAIT });
  await bubble(ivy, 'a red and blue flag').locator('button.recall').click();
  for (const page of [ivy, jack]) {
    await page.locator(`#messages li.msg.recalled[data-seq="${flagSeq}"]`, { hasText: 'message recalled' }).waitFor({ timeout: WAIT });
    expect(await page.locator(`#messages li.msg[data-seq="${flagSeq}"] img`).count()).toBe(0);
  }
  await jack.screenshot({ path: `/tmp/im-web-client-media-${store}.png` });
  expect(pageErrors).toEqual([]);
}
