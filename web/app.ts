/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/**
 * The canremote web page: connects back to the server it came from with
 * `RemoteBus`, records the traffic and shows it per ID and as a trace, with
 * filters, transmit, statistics and export; with DBC files (picked, dropped
 * or offered by the server at /api/dbc) it names messages, decodes signals,
 * plots them live and sends frames built from signal values.
 *
 * Frames are counted into the models as they arrive (bounded structures);
 * the DOM is updated at most once per animation frame and holds only the
 * rows in view. Bus data is only ever written as text.
 *
 * Built into `web/app.bundle.js` by `deno task build:web` (web/build.ts).
 *
 * @module
 */

import { BusClosedError, RemoteError } from "../core/errors.ts";
import type { CanFrame } from "../core/frame.ts";
import { RemoteBus, type RemoteBusOptions, type RemoteBusState } from "../client.ts";
import { CloseCode } from "../core/protocol.ts";
import { byId, download, setText } from "./_dom.ts";
import { frameDuration } from "./bus_load.ts";
import { formatCount, type TimeMode } from "./format.ts";
import { compileFilter, FRAME_KINDS, type FrameKind, type FramePredicate } from "./frame_filter.ts";
import { IdTable, rowsToCsv, type SortKey } from "./id_table.ts";
import { IdView } from "./id_view.ts";
import { logChannelName, toCandumpLog } from "./log_export.ts";
import { drawSparkline, type Sample } from "./sparkline.ts";
import { TraceStore } from "./trace_store.ts";
import { TraceView } from "./trace_view.ts";
import { TransmitPanel } from "./transmit_panel.ts";
import { DbcCollection } from "../core/dbc/collection.ts";
import { signalValue } from "../core/dbc/codec.ts";
import { parseDbc } from "../core/dbc/parse.ts";
import { decodeDbcText } from "../core/dbc/text.ts";
import type { DbcMessage, DbcSignal } from "../core/dbc/types.ts";
import { SignalPlot } from "./signal_plot.ts";
import { SignalSeries } from "./signal_series.ts";
import { formatValue, type SignalRef, SignalsPanel } from "./signals_panel.ts";
import { SignalTransmit } from "./signal_transmit.ts";
import { HealthPanel, stateLabel } from "./health_panel.ts";

/** A channel as `/api/channels` lists it. */
interface Channel {
  name: string;
  path: string;
  bitrate: number | null;
  /** A fleet hub's channel: its gateway online (`true`), offline (`false`) or not heard yet (`null`). */
  online?: boolean | null;
}

type PageState = RemoteBusState | "offline";

const DEFAULT_BITRATE = 500_000;
const DEFAULT_DATA_BITRATE = 2_000_000;
/** Statistics samples kept for the chart: one per tick, a minute in all. */
const HISTORY = 120;
const TICK_MS = 500;

const store = new TraceStore(200_000);
const dbcs = new DbcCollection();
/** The newest frame of each DBC message, for the Signals panel. */
const latestByMessage = new Map<DbcMessage, CanFrame>();
const series = new SignalSeries();
/** Plotted signals by key, and by message for the per-frame path. */
const plotted = new Map<string, SignalRef>();
let plotByMessage = new Map<DbcMessage, { signal: DbcSignal; index: number }[]>();
/** The server's demo file: its first load plots two signals, so the demo shows a plot at once. */
const DEMO_DBC = "canremote-demo.dbc";
const DEMO_PLOT = ["EEC1.EngineSpeed", "CCVS.WheelBasedVehicleSpeed"];
const table = new IdTable(4096);
const stats = {
  received: 0,
  errorFrames: 0,
  sent: 0,
  renders: 0,
  renderMs: 0,
  maxRenderMs: 0,
  maxStallMs: 0,
  fps: 0,
  load: 0,
  droppedBase: 0,
};
const samples: Sample[] = [];
let windowFrames = 0;
let windowBusTime = 0;
let paused = false;
let start = NaN;
let filter: FramePredicate | null = null;

let channels: Channel[] = [];
/** How often the picker of a fleet hub asks again which gateways are online. */
const FLEET_REFRESH_MS = 5000;
let fleetRefresh: ReturnType<typeof setInterval> | undefined;
let tokenRequired = false;
// /api/channels answered 401: the server wants a token we lack, or refused ours.
let listRefused = false;
// The channel to connect to once a token is entered.
let wantedChannel: string | undefined;
const TOKEN_KEY = "canremote.token";
let channel: Channel | undefined;
let bus: RemoteBus | undefined;
let pageState: PageState = "connecting";
let session = 0;

const ui = {
  channel: byId<HTMLSelectElement>("channel"),
  channelBox: byId("channel-box"),
  state: byId("state"),
  info: byId("info"),
  reconnect: byId<HTMLButtonElement>("reconnect"),
  tokenForm: byId<HTMLFormElement>("token-form"),
  token: byId<HTMLInputElement>("token"),
  bitrate: byId<HTMLInputElement>("bitrate"),
  dataBitrate: byId<HTMLInputElement>("data-bitrate"),
  pause: byId<HTMLButtonElement>("pause"),
  clear: byId<HTMLButtonElement>("clear"),
  timeMode: byId<HTMLSelectElement>("time-mode"),
  layout: byId<HTMLSelectElement>("layout"),
  ids: byId<HTMLInputElement>("filter-ids"),
  search: byId<HTMLInputElement>("search"),
  standard: byId<HTMLInputElement>("k-std"),
  extended: byId<HTMLInputElement>("k-ext"),
  saveLog: byId<HTMLButtonElement>("save-log"),
  saveCsv: byId<HTMLButtonElement>("save-csv"),
  follow: byId<HTMLButtonElement>("follow"),
  idsCount: byId("ids-count"),
  traceCount: byId("trace-count"),
  main: byId("main"),
  idsView: byId("ids-view"),
  traceView: byId("trace-view"),
  fps: byId("st-fps"),
  load: byId("st-load"),
  loadBar: byId("st-load-bar"),
  errors: byId("st-errors"),
  dropped: byId("st-dropped"),
  received: byId("st-received"),
  recorded: byId("st-recorded"),
  sent: byId("st-sent"),
  spark: byId<HTMLCanvasElement>("spark"),
  notice: byId("notice"),
  pausedBadge: byId("paused"),
  plot: byId("plot"),
  plotCount: byId("plot-count"),
  plotWindow: byId<HTMLSelectElement>("plot-window"),
  plotLive: byId<HTMLButtonElement>("plot-live"),
  plotClear: byId<HTMLButtonElement>("plot-clear"),
};

let renderPending = false;
const scheduleRender = () => {
  if (renderPending) return;
  renderPending = true;
  requestAnimationFrame(render);
};

const traceView = new TraceView(ui.traceView, store, scheduleRender);
const idView = new IdView(ui.idsView, table, scheduleRender);
const health = new HealthPanel();
const transmit = new TransmitPanel({
  bus: () => bus,
  sent: () => {
    stats.sent++;
  },
});
const plot = new SignalPlot(ui.plot, series, (live) => {
  ui.plotLive.setAttribute("aria-pressed", String(live));
});
const signalsPanel = new SignalsPanel({
  dbcs,
  latest: (message) => latestByMessage.get(message),
  plotted: (key) => plotted.has(key),
  setPlotted,
  removeFile: (name) => {
    dbcs.delete(name);
    dbcsChanged();
  },
  loadFiles: (files) => void loadFiles(files),
});
const signalTransmit = new SignalTransmit({
  dbcs,
  send: (frame) => transmit.sendFrame(frame),
  addPeriodic: (frame, periodMs) => transmit.addPeriodicFrame(frame, periodMs),
  defaultPeriodMs: () => transmit.periodMs,
});

function notice(text: string): void {
  const time = new Date().toLocaleTimeString();
  ui.notice.textContent = `${time}  ${text}`;
  ui.notice.title = text;
}

// --- receiving ---------------------------------------------------------

function bitrates(): [number, number] {
  const nominal = Number(ui.bitrate.value);
  const data = Number(ui.dataBitrate.value);
  return [nominal > 0 ? nominal : DEFAULT_BITRATE, data > 0 ? data : DEFAULT_DATA_BITRATE];
}
let [nominalRate, dataRate] = bitrates();

function ingest(frame: CanFrame): void {
  stats.received++;
  if (frame.isErrorFrame) stats.errorFrames++;
  windowFrames++;
  windowBusTime += frameDuration(frame, nominalRate, dataRate);
  if (paused) return;
  if (Number.isNaN(start)) {
    start = frame.timestamp;
    traceView.start = idView.start = start;
  }
  store.push(frame);
  table.update(frame, performance.now());
  if (dbcs.files.length > 0 && !frame.isRemoteFrame && !frame.isErrorFrame) {
    const message = dbcs.messageFor(frame);
    if (message) {
      latestByMessage.set(message, frame);
      const lines = plotByMessage.get(message);
      if (lines) {
        // A frame a client sent without a timestamp is plotted when it came.
        const time = frame.timestamp > 0 ? frame.timestamp : Date.now() / 1000;
        for (const { signal, index } of lines) {
          const value = signalValue(message, signal, frame.data);
          if (value !== undefined) series.push(index, time, value);
        }
      }
    }
  }
  scheduleRender();
}

// --- signals -----------------------------------------------------------

/** Plots a signal, or stops plotting it. */
function setPlotted(ref: SignalRef, on: boolean): void {
  if (on === plotted.has(ref.key)) return;
  if (on) {
    plotted.set(ref.key, ref);
    series.add(ref.key);
  } else {
    plotted.delete(ref.key);
    series.remove(ref.key);
  }
  plotChanged();
}

function plotChanged(): void {
  plotByMessage = new Map();
  series.keys.forEach((key, index) => {
    const ref = plotted.get(key)!;
    const lines = plotByMessage.get(ref.message) ?? [];
    lines.push({ signal: ref.signal, index });
    plotByMessage.set(ref.message, lines);
  });
  plot.setLines(series.keys.map((key) => {
    const ref = plotted.get(key)!;
    return { key, label: key, unit: ref.signal.unit };
  }));
  ui.main.dataset.plot = plotted.size > 0 ? "on" : "off";
  setText(ui.plotCount, plotted.size ? `${plotted.size} signal${plotted.size > 1 ? "s" : ""}` : "");
  signalsPanel.refreshValues();
  scheduleRender();
}

/** After files were added or removed: plots of signals no file has any more go. */
function dbcsChanged(): void {
  for (const [key, ref] of plotted) {
    if (dbcs.databaseOf(ref.message.name)?.getMessage(ref.message.name) !== ref.message) {
      plotted.delete(key);
      series.remove(key);
    }
  }
  latestByMessage.clear();
  idView.decoder = dbcs.files.length ? idDecoder : undefined;
  idView.invalidate();
  signalsPanel.rebuild();
  signalTransmit.rebuild();
  plotChanged();
}

const idDecoder = {
  messageName: (frame: CanFrame) =>
    frame.isErrorFrame || frame.isRemoteFrame ? undefined : dbcs.messageFor(frame)?.name,
  signals: (frame: CanFrame): [string, string][] | undefined => {
    const decoded = dbcs.decode(frame);
    if (!decoded) return undefined;
    return Object.entries(decoded.signals).map(([name, s]) => [
      name,
      formatValue(s.value, s.unit, s.label),
    ]);
  },
};

/**
 * Loads one DBC file's text; a malformed one is reported and loads nothing.
 *
 * @returns Whether it loaded.
 */
function addDbc(name: string, text: string): boolean {
  try {
    const database = parseDbc(text);
    dbcs.set(name, database);
    notice(`Loaded ${name}: ${database.messages.length} messages`);
    return true;
  } catch (error) {
    notice(`${name}: ${(error as Error).message}`);
    return false;
  }
}

async function loadFiles(files: Iterable<File>): Promise<void> {
  for (const file of files) {
    addDbc(file.name, decodeDbcText(new Uint8Array(await file.arrayBuffer())));
  }
  dbcsChanged();
}

/** Loads the DBC files the server offers (--dbc, --demo) that are not loaded yet. */
async function loadServerDbc(): Promise<void> {
  const token = storedToken();
  const response = await fetch("/api/dbc", {
    cache: "no-store",
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  if (!response.ok) return void await response.body?.cancel();
  const body = await response.json() as { files?: { name: string; text: string }[] };
  let added = false;
  for (const file of body.files ?? []) {
    if (dbcs.files.some((f) => f.name === file.name)) continue;
    if (!addDbc(file.name, file.text)) continue;
    added = true;
    if (file.name === DEMO_DBC && plotted.size === 0) {
      dbcsChanged();
      for (const key of DEMO_PLOT) {
        const [messageName, signalName] = key.split(".");
        const message = dbcs.databaseOf(messageName)?.getMessage(messageName);
        const signal = message?.signals.find((s) => s.name === signalName);
        if (message && signal) setPlotted({ key, message, signal }, true);
      }
    }
  }
  if (added) dbcsChanged();
}

// Files dropped anywhere on the page load as DBC files.
const hasFiles = (event: DragEvent) => event.dataTransfer?.types.includes("Files") ?? false;
document.addEventListener("dragover", (event) => {
  if (!hasFiles(event)) return;
  event.preventDefault();
  document.body.classList.add("dropping");
});
document.addEventListener("dragleave", (event) => {
  if (event.relatedTarget === null) document.body.classList.remove("dropping");
});
document.addEventListener("drop", (event) => {
  document.body.classList.remove("dropping");
  if (!hasFiles(event)) return;
  event.preventDefault();
  void loadFiles(event.dataTransfer!.files);
});

async function pump(target: RemoteBus): Promise<void> {
  while (bus === target) {
    try {
      ingest(await target.receive());
      // Everything that arrived meanwhile, without a promise per frame.
      for (let frame = target.poll(); frame !== undefined; frame = target.poll()) ingest(frame);
    } catch (error) {
      if (error instanceof BusClosedError) return;
      notice((error as Error).message ?? String(error));
    }
  }
}

// --- connection --------------------------------------------------------

function setState(state: PageState, detail = ""): void {
  pageState = state;
  ui.state.dataset.state = state;
  setText(ui.state, state);
  ui.state.title = detail;
  ui.reconnect.hidden = state !== "closed";
  document.title = `canremote \u2013 ${channel?.name ?? ""} (${state})`;
}

/**
 * Loads the channel list, sending the stored token (if any) as a Bearer
 * header: a server with tokens lists its channels only to a token holder.
 *
 * @returns `false` when the server answered 401 (a token is needed, or ours was refused).
 * @throws {Error} For any other failure, with the server's text.
 */
async function loadChannels(): Promise<boolean> {
  const token = storedToken();
  const response = await fetch("/api/channels", {
    cache: "no-store",
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  if (response.status === 401) {
    await response.body?.cancel();
    tokenRequired = listRefused = true;
    return false;
  }
  if (!response.ok) {
    const why = (await response.text()).trim();
    throw new Error(`GET /api/channels: HTTP ${response.status}${why ? ` ${why}` : ""}`);
  }
  const body = await response.json() as { channels: Channel[]; tokenRequired?: boolean };
  listRefused = false;
  channels = body.channels;
  tokenRequired = body.tokenRequired === true;
  const options = channels.map((c) => {
    const option = document.createElement("option");
    option.value = c.name;
    option.textContent = c.online === false
      ? `${c.name} (offline)`
      : c.online === true
      ? `${c.name} (online)`
      : c.name;
    return option;
  });
  // A hub's gateways come and go: keep their state current in the picker.
  if (channels.some((c) => c.online !== undefined) && fleetRefresh === undefined) {
    fleetRefresh = setInterval(() => loadChannels().catch(() => {}), FLEET_REFRESH_MS);
  }
  ui.channel.replaceChildren(...options);
  if (channel) ui.channel.value = channel.name;
  ui.channelBox.hidden = channels.length < 2;
  showBitrate();
  loadServerDbc().catch((error) => notice(`Cannot load the server's DBC files: ${error.message}`));
  return true;
}

function showBitrate(): void {
  const fixed = channels.find((c) => c.name === channel?.name)?.bitrate ?? null;
  ui.bitrate.readOnly = fixed !== null;
  ui.bitrate.title = fixed !== null ? "Set by the server" : "Bit rate for the bus load estimate";
  if (fixed !== null) ui.bitrate.value = String(fixed);
  [nominalRate, dataRate] = bitrates();
}

function webSocketUrl(path: string): string {
  const url = new URL(path, location.href);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  url.search = url.hash = "";
  return url.href;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// The token lives for the browser tab (sessionStorage, so a reload keeps it),
// and in memory when storage is off.
let memoryToken: string | undefined;
function storedToken(): string | undefined {
  try {
    return sessionStorage.getItem(TOKEN_KEY) || memoryToken;
  } catch {
    return memoryToken;
  }
}

/** Asks for an access token; connecting resumes when one is entered. */
function askToken(why: string): void {
  setState("closed", why);
  ui.reconnect.hidden = true;
  ui.tokenForm.hidden = false;
  ui.token.setAttribute("aria-invalid", String(storedToken() !== undefined));
  ui.token.title = why;
  notice(why);
  ui.token.focus();
}

// Whether a failed connection was the server refusing our token (or its lack).
async function refusedForToken(error: unknown): Promise<boolean> {
  if (!(error instanceof RemoteError)) return false;
  if (error.code === CloseCode.UNAUTHORIZED || error.code === CloseCode.FORBIDDEN) return true;
  if (error.code !== 1006) return false;
  // A browser sees a refused upgrade (HTTP 401/403) as 1006 only: the server
  // is up and wants a token when /api/channels refuses ours (or its lack) too.
  try {
    return !(await loadChannels());
  } catch {
    return false;
  }
}

// A token was entered: the channel list needs it too, so load it again first.
async function resumeWithToken(): Promise<void> {
  const wanted = wantedChannel ?? channel?.name;
  wantedChannel = undefined;
  try {
    await loadChannels();
  } catch (error) {
    notice(`Cannot list the channels: ${(error as Error).message}`);
  }
  await connect(wanted);
}

async function connect(name?: string): Promise<void> {
  const mine = ++session;
  const old = bus;
  bus = undefined;
  if (old) await old.close();
  transmit.refresh();
  if (listRefused) {
    wantedChannel = name ?? wantedChannel;
    return askToken(
      storedToken() ? "The server refused the access token" : "This server needs an access token",
    );
  }
  const next = channels.find((c) => c.name === name) ?? channels[0] ??
    { name: "", path: "/", bitrate: null };
  if (channel && next.name !== channel.name) clearAll();
  channel = next;
  ui.channel.value = channel.name;
  const url = new URL(location.href);
  if (channel.name && channel.path !== "/") url.searchParams.set("channel", channel.name);
  else url.searchParams.delete("channel");
  history.replaceState(null, "", url);
  showBitrate();
  setState("connecting");
  ui.tokenForm.hidden = true;
  if (tokenRequired && !storedToken()) return askToken("This server needs an access token");
  for (let attempt = 0; mine === session; attempt++) {
    const options: RemoteBusOptions = {
      receiveOwnMessages: true,
      busState: true,
      reconnect: { initialDelay: 250, maxDelay: 2000 },
    };
    const token = storedToken();
    if (token) options.token = token;
    try {
      const opened = await RemoteBus.connect(webSocketUrl(channel.path), options);
      if (mine !== session) return void opened.close();
      bus = opened;
      break;
    } catch (error) {
      if (mine !== session) return;
      if (await refusedForToken(error)) {
        return askToken(`The server refused the access token: ${(error as Error).message}`);
      }
      const delay = Math.min(500 * 2 ** attempt, 5000);
      setState("offline", (error as Error).message);
      notice(`Cannot connect: ${(error as Error).message}; retrying in ${delay / 1000} s`);
      await sleep(delay);
    }
  }
  const current = bus;
  if (!current) return;
  current.addEventListener("statechange", (event) => {
    if (bus !== current) return;
    const { state, error } = event.detail;
    setState(state, error instanceof Error ? error.message : "");
    if (state === "reconnecting") notice(`Connection lost: ${(error as Error)?.message ?? ""}`);
    if (state === "open") {
      notice("Reconnected");
      loadChannels().catch(() => {});
    }
    if (state === "closed" && error) {
      const code = (error as RemoteError).code;
      if (code === CloseCode.UNAUTHORIZED || code === CloseCode.FORBIDDEN) {
        askToken(`The server closed the connection: ${(error as Error).message}`);
      } else notice(`Closed: ${(error as Error).message}`);
    }
  });
  current.addEventListener("dropped", (event) => {
    notice(
      `${event.detail.count} frames lost before this page got them (it read too slowly, or the controller or socket overran)`,
    );
  });
  health.update(current.busState);
  current.addEventListener("busstate", (event) => {
    if (bus !== current) return;
    const before = health.state;
    health.update(event.detail);
    if (before !== undefined && event.detail.state !== before) {
      notice(`${channel?.name ?? "The bus"} is ${stateLabel(event.detail.state)}`);
    }
  });
  setState(current.state);
  setText(ui.info, current.channelInfo);
  ui.info.title = `${current.channelInfo} (${current.protocol})`;
  pump(current);
}

// --- rendering ---------------------------------------------------------

function render(): void {
  renderPending = false;
  stats.renders++;
  const now = performance.now();
  idView.render(now);
  traceView.render();
  if (plotted.size > 0) plot.render(now);
  setText(ui.idsCount, `${formatCount(idView.rows.length)} of ${formatCount(table.size)} IDs`);
  setText(ui.traceCount, `${formatCount(store.shown)} of ${formatCount(store.size)} frames`);
  ui.follow.setAttribute("aria-pressed", String(traceView.list.follow));
  const placeholder = filter && store.size
    ? "No frame matches the filter"
    : paused
    ? "Paused"
    : "Waiting for frames\u2026";
  for (const view of [ui.idsView, ui.traceView]) {
    if (view.dataset.placeholder !== placeholder) view.dataset.placeholder = placeholder;
  }
  const took = performance.now() - now;
  stats.renderMs += took;
  stats.maxRenderMs = Math.max(stats.maxRenderMs, took);
}

function tick(): void {
  const now = performance.now();
  const seconds = Math.max(0.001, (now - lastTick) / 1000);
  lastTick = now;
  stats.fps = windowFrames / seconds;
  stats.load = windowBusTime / seconds;
  windowFrames = 0;
  windowBusTime = 0;
  samples.push({ fps: stats.fps, load: stats.load });
  if (samples.length > HISTORY) samples.shift();
  setText(ui.fps, formatCount(stats.fps));
  setText(ui.load, `${(stats.load * 100).toFixed(1)} %`);
  // Over 100 % no real bus could carry it: the bit rate set here is too low,
  // or the frames come from the virtual bus, which has no bit rate.
  ui.load.title = stats.load > 1
    ? "More traffic than this bit rate can carry: check the bit rate (the virtual bus has none)"
    : "";
  ui.loadBar.style.width = `${Math.min(100, stats.load * 100).toFixed(1)}%`;
  ui.loadBar.dataset.level = stats.load > 0.8 ? "high" : stats.load > 0.5 ? "mid" : "low";
  setText(ui.errors, formatCount(stats.errorFrames));
  setText(ui.dropped, formatCount(dropped()));
  setText(ui.received, formatCount(stats.received));
  setText(ui.recorded, formatCount(store.size));
  setText(ui.sent, formatCount(stats.sent));
  drawSparkline(ui.spark, samples, HISTORY);
  transmit.refresh();
  signalsPanel.refreshValues();
  scheduleRender(); // ages the changed-byte highlights
}
let lastTick = performance.now();

function dropped(): number {
  return (bus?.dropped ?? 0) - stats.droppedBase;
}

function clearAll(): void {
  store.clear();
  table.clear();
  series.clear();
  latestByMessage.clear();
  start = NaN;
  stats.received = stats.errorFrames = stats.sent = 0;
  stats.droppedBase = bus?.dropped ?? 0;
  samples.length = 0;
  windowFrames = 0;
  windowBusTime = 0;
  traceView.list.follow = true;
  scheduleRender();
}

// --- controls ----------------------------------------------------------

function applyFilter(): void {
  const kinds = FRAME_KINDS.filter((k) => byId<HTMLInputElement>(`k-${k}`).checked);
  try {
    filter = compileFilter({
      ids: ui.ids.value,
      kinds: kinds as FrameKind[],
      standard: ui.standard.checked,
      extended: ui.extended.checked,
      search: ui.search.value,
    });
    ui.ids.removeAttribute("aria-invalid");
    ui.ids.title = "Hex ids: 123, ranges 100-1FF, id/mask 7E0/7F8, !id to hide";
  } catch (error) {
    ui.ids.setAttribute("aria-invalid", "true");
    ui.ids.title = (error as Error).message;
    return;
  }
  store.setFilter(filter);
  idView.setFilter(filter);
  scheduleRender();
}

let filterTimer: ReturnType<typeof setTimeout> | undefined;
for (const input of [ui.ids, ui.search]) {
  input.addEventListener("input", () => {
    clearTimeout(filterTimer);
    filterTimer = setTimeout(applyFilter, 120);
  });
}
for (const kind of [...FRAME_KINDS, "std", "ext"]) {
  byId(`k-${kind}`).addEventListener("change", applyFilter);
}

ui.pause.addEventListener("click", () => {
  paused = !paused;
  ui.pause.setAttribute("aria-pressed", String(paused));
  setText(ui.pause, paused ? "Resume" : "Pause");
  ui.pausedBadge.hidden = !paused;
  scheduleRender();
});
ui.clear.addEventListener("click", clearAll);
ui.follow.addEventListener("click", () => {
  traceView.list.follow = !traceView.list.follow;
  if (traceView.list.follow) traceView.list.scrollToEnd();
  scheduleRender();
});
ui.timeMode.addEventListener("change", () => {
  traceView.timeMode = idView.timeMode = ui.timeMode.value as TimeMode;
  scheduleRender();
});
ui.layout.addEventListener("change", () => {
  ui.main.dataset.layout = ui.layout.value;
  scheduleRender();
});
ui.plotWindow.addEventListener("change", () => {
  plot.windowSeconds = Number(ui.plotWindow.value);
  plot.resume();
  scheduleRender();
});
ui.plotLive.addEventListener("click", () => {
  if (plot.live) plot.pause();
  else plot.resume();
  scheduleRender();
});
ui.plotClear.addEventListener("click", () => {
  for (const ref of [...plotted.values()]) setPlotted(ref, false);
});
for (const input of [ui.bitrate, ui.dataBitrate]) {
  input.addEventListener("change", () => [nominalRate, dataRate] = bitrates());
}
ui.channel.addEventListener("change", () => void connect(ui.channel.value));
ui.reconnect.addEventListener("click", () => void connect(channel?.name));
ui.tokenForm.addEventListener("submit", (event) => {
  event.preventDefault();
  memoryToken = ui.token.value;
  try {
    sessionStorage.setItem(TOKEN_KEY, ui.token.value);
  } catch {
    // storage off: the token lasts until the page reloads
  }
  ui.token.value = "";
  ui.tokenForm.hidden = true;
  setState("connecting");
  void resumeWithToken();
});

for (const button of document.querySelectorAll<HTMLButtonElement>("[data-sort]")) {
  button.addEventListener("click", () => {
    const key = button.dataset.sort as SortKey;
    if (idView.sortKey === key) idView.descending = !idView.descending;
    else {
      idView.sortKey = key;
      idView.descending = key === "count" || key === "last";
    }
    for (const other of document.querySelectorAll<HTMLElement>("[data-sort]")) {
      other.setAttribute(
        "aria-sort",
        other.dataset.sort === key ? (idView.descending ? "descending" : "ascending") : "none",
      );
    }
    idView.invalidate();
    scheduleRender();
  });
}

function stamp(): string {
  const d = new Date();
  const two = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}${two(d.getMonth() + 1)}${two(d.getDate())}-${two(d.getHours())}${
    two(d.getMinutes())
  }${two(d.getSeconds())}`;
}

function exportLog(): string {
  return toCandumpLog(store.shownFrames(), logChannelName(channel?.name || "0"));
}

function exportCsv(): string {
  idView.render(performance.now());
  return rowsToCsv(idView.rows);
}

ui.saveLog.addEventListener("click", () => {
  download(`candump-${stamp()}.log`, exportLog(), "text/plain");
});
ui.saveCsv.addEventListener("click", () => {
  download(`canremote-ids-${stamp()}.csv`, exportCsv(), "text/csv");
});

// How late the event loop runs: a page that falls behind shows long stalls here.
let beat = performance.now();
setInterval(() => {
  const now = performance.now();
  stats.maxStallMs = Math.max(stats.maxStallMs, now - beat - 50);
  beat = now;
}, 50);
setInterval(tick, TICK_MS);

// For tests and the browser console: read-only views of the page's state.
Object.defineProperty(globalThis, "canremote", {
  value: Object.freeze({
    get state(): PageState {
      return pageState;
    },
    get channel(): string | undefined {
      return channel?.name;
    },
    get channelInfo(): string {
      return bus?.channelInfo ?? "";
    },
    stats: Object.freeze({
      get received() {
        return stats.received;
      },
      get recorded() {
        return store.size;
      },
      get shown() {
        return store.shown;
      },
      get ids() {
        return table.size;
      },
      get errorFrames() {
        return stats.errorFrames;
      },
      get dropped() {
        return dropped();
      },
      get sent() {
        return stats.sent;
      },
      get fps() {
        return stats.fps;
      },
      get load() {
        return stats.load;
      },
      get renders() {
        return stats.renders;
      },
      get maxStallMs() {
        return stats.maxStallMs;
      },
      get renderMs() {
        return stats.renderMs;
      },
      get maxRenderMs() {
        return stats.maxRenderMs;
      },
      get plotted() {
        return plotted.size;
      },
      get plotPoints() {
        return plot.points;
      },
      get domRows() {
        return traceView.list.domRows + idView.list.domRows;
      },
    }),
    resetStallMeter(): void {
      stats.maxStallMs = 0;
      stats.renderMs = stats.maxRenderMs = 0;
    },
    /** Decodes a frame with the loaded DBC files (for tests). */
    decode: (frame: CanFrame) => dbcs.decode(frame) ?? null,
    /** Loads a DBC file's text, as a picked file would. */
    loadDbc: (name: string, text: string) => {
      const ok = addDbc(name, text);
      dbcsChanged();
      return ok;
    },
    get dbcFiles(): string[] {
      return dbcs.files.map((f) => f.name);
    },
    /** Plots `Message.Signal`, or stops plotting it. */
    plot: (key: string, on = true) => {
      const ref = [...dbcs.files].map((f) => f.database).flatMap((db) => {
        const [m, sig] = key.split(".");
        const message = db.getMessage(m);
        const signal = message?.signals.find((s) => s.name === sig);
        return message && signal ? [{ key, message, signal }] : [];
      })[0];
      if (!ref) throw new RangeError(`No signal ${key} in the DBC files`);
      setPlotted(ref, on);
    },
    exportLog,
    exportCsv,
    connect: (name?: string) => connect(name),
  }),
});

// --- start -------------------------------------------------------------

applyFilter();
setState("connecting");
try {
  await loadChannels();
} catch (error) {
  notice(`Cannot list the channels: ${(error as Error).message}`);
}
void connect(new URLSearchParams(location.search).get("channel") ?? undefined);
