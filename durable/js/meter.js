// The cost meter's counting (durable/src/meter.rs): proxies around the bindings that count
// what each call bills, so no call site needs to know about metering. Loaded only when the
// var COST_METER is "1"; otherwise nothing here runs.

/** The header a metered response (the Worker's, or an object's reply) carries its units in. */
export const HEADER = "x-cost-meter";

/** Billable units of one request: `name -> count`, plus the SQL cursors still to be summed. */
export class Meter {
  constructor() {
    this.units = new Map();
    this.cursors = [];
    // While an object's alarm runs, its units are reported as `bg_<unit>`: work no request
    // asked for (the outbox flush), which the bench attributes to the bookings that caused it.
    this.background = false;
  }

  add(name, n) {
    if (Number.isFinite(n) && n !== 0) {
      const key = this.background ? `bg_${name}` : name;
      this.units.set(key, (this.units.get(key) ?? 0) + n);
    }
  }

  /** Marks the start (`true`) or end (`false`) of background work. */
  setBackground(on) {
    this.background = on;
  }

  /** Adds the units another meter reported (`a=1;b=2`). */
  merge(reported) {
    for (const part of reported.split(";")) {
      const [name, value] = part.split("=");
      if (name) this.add(name, Number(value));
    }
  }

  /** Everything counted so far as `a=1;b=2` (SQL cursors summed now, when they are spent),
   * and a fresh start. */
  take() {
    const background = this.background;
    for (const [cursor, bg] of this.cursors) {
      this.background = bg;
      this.add("do_rows_read", cursor.rowsRead);
      this.add("do_rows_written", cursor.rowsWritten);
    }
    this.background = background;
    this.cursors = [];
    const out = [...this.units].map(([name, n]) => `${name}=${n}`).join(";");
    this.units.clear();
    return out;
  }
}

// A proxy of `target` answering `overrides` first; everything else is the target's own,
// methods bound to it (native bindings refuse a proxy as `this`). The constructor stays as it
// is: workers-rs recognises a binding by its constructor's name.
function wrap(target, overrides) {
  return new Proxy(target, {
    get(t, prop) {
      if (Object.hasOwn(overrides, prop)) return overrides[prop];
      const value = Reflect.get(t, prop);
      return typeof value === "function" && prop !== "constructor" ? value.bind(t) : value;
    },
  });
}

const statements = new WeakMap();

function d1Result(m, result) {
  const meta = result?.meta;
  m.add("d1_rows_read", meta?.rows_read ?? 0);
  m.add("d1_rows_written", meta?.rows_written ?? 0);
  return result;
}

function d1Statement(m, stmt) {
  const proxy = wrap(stmt, {
    bind: (...args) => d1Statement(m, stmt.bind(...args)),
    all: () => stmt.all().then((r) => d1Result(m, r)),
    run: () => stmt.run().then((r) => d1Result(m, r)),
    // `first` answers no meta: run `all` and answer as `first` does.
    first: async (column) => {
      const row = d1Result(m, await stmt.all()).results?.[0];
      if (row === undefined) return null;
      if (column === undefined || column === null) return row;
      if (!(column in row)) throw new Error(`D1_COLUMN_NOTFOUND: Column not found (${column})`);
      return row[column];
    },
  });
  statements.set(proxy, stmt);
  return proxy;
}

function d1(m, db) {
  return wrap(db, {
    prepare: (sql) => d1Statement(m, db.prepare(sql)),
    batch: (stmts) =>
      db.batch(stmts.map((s) => statements.get(s) ?? s)).then((results) => {
        results.forEach((r) => d1Result(m, r));
        return results;
      }),
  });
}

function kv(m, ns) {
  const keys = (key) => (Array.isArray(key) ? key.length : 1);
  return wrap(ns, {
    get: (key, ...rest) => (m.add("kv_reads", keys(key)), ns.get(key, ...rest)),
    getWithMetadata: (key, ...rest) => (m.add("kv_reads", keys(key)), ns.getWithMetadata(key, ...rest)),
    put: (...args) => (m.add("kv_writes", 1), ns.put(...args)),
    delete: (...args) => (m.add("kv_deletes", 1), ns.delete(...args)),
    list: (...args) => (m.add("kv_lists", 1), ns.list(...args)),
  });
}

function stub(m, s) {
  return wrap(s, {
    fetch: async (...args) => {
      m.add("do_requests", 1);
      const started = Date.now();
      const resp = await s.fetch(...args);
      // Wall time of the call as the caller sees it: what an object's duration is billed on
      // (the clock advances across I/O, also on Cloudflare's network).
      m.add("do_wall_ms", Date.now() - started);
      const reported = resp.headers.get(HEADER);
      if (reported) m.merge(reported);
      return resp;
    },
  });
}

function namespace(m, ns) {
  return wrap(ns, {
    get: (...args) => stub(m, ns.get(...args)),
    getByName: (...args) => stub(m, ns.getByName(...args)),
  });
}

function queue(m, q) {
  return wrap(q, {
    send: (...args) => (m.add("queue_messages", 1), q.send(...args)),
    sendBatch: (messages, ...rest) => (
      m.add("queue_messages", messages?.length ?? 0), q.sendBatch(messages, ...rest)
    ),
  });
}

function r2(m, bucket) {
  const a = (name) => (...args) => (m.add("r2_class_a", 1), bucket[name](...args));
  const b = (name) => (...args) => (m.add("r2_class_b", 1), bucket[name](...args));
  return wrap(bucket, {
    put: a("put"),
    list: a("list"),
    createMultipartUpload: a("createMultipartUpload"),
    get: b("get"),
    head: b("head"),
  });
}

// Which kind of binding `value` is, by the methods it has.
function metered(m, value) {
  const has = (name) => typeof value[name] === "function";
  if (has("prepare") && has("batch")) return d1(m, value);
  if (has("getWithMetadata")) return kv(m, value);
  if (has("idFromName")) return namespace(m, value);
  if (has("sendBatch")) return queue(m, value);
  if (has("createMultipartUpload")) return r2(m, value);
  return value;
}

/** `env` with every D1, KV, Durable Object, Queue and R2 binding counted into `m`. */
export function meteredEnv(env, m) {
  const wrapped = new Map();
  return new Proxy(env, {
    get(t, prop) {
      const value = Reflect.get(t, prop);
      if (typeof prop !== "string" || value === null || typeof value !== "object") return value;
      if (!wrapped.has(prop)) wrapped.set(prop, metered(m, value));
      return wrapped.get(prop);
    },
  });
}

/** An object's `state` whose storage counts SQLite rows into `m`: the cursors of `sql.exec`
 * (summed when the meter is read) and the key-value API's rows. */
export function meteredState(state, m) {
  const storage = state.storage;
  const sql = storage.sql;
  const keys = (key) => (Array.isArray(key) ? key.length : 1);
  const meteredSql = wrap(sql, {
    exec: (...args) => {
      const cursor = sql.exec(...args);
      m.cursors.push([cursor, m.background]);
      return cursor;
    },
  });
  const meteredStorage = wrap(storage, {
    sql: meteredSql,
    get: (key, ...rest) => (m.add("do_rows_read", keys(key)), storage.get(key, ...rest)),
    put: (key, ...rest) => (
      m.add("do_rows_written", typeof key === "object" ? Object.keys(key).length : 1),
      storage.put(key, ...rest)
    ),
    delete: (key, ...rest) => (m.add("do_rows_written", keys(key)), storage.delete(key, ...rest)),
  });
  return wrap(state, { storage: meteredStorage });
}
