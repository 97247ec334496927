#!/usr/bin/env python3
"""Fails when wrangler.toml's environments miss a binding, var or trigger of the top level.

Wrangler does not inherit bindings or vars into `[env.<name>]` (a deploy with `--env staging`
simply has no `DB` if `[env.staging]` names none, and fails at the first request that needs it),
so every environment must restate each of them. Cron triggers are inherited, but an environment
here states its own (so staging and production can differ deliberately, never by accident).

Usage: check-envs.py [wrangler.toml]   (exit 1 with one line per missing item)
       check-envs.py --self-test       (the check finds what it must, on made-up configs)
"""
import sys
import tomllib

# Tables whose entries are bindings, and the key naming each entry's binding.
BINDING_ARRAYS = {
    "d1_databases": "binding",
    "kv_namespaces": "binding",
    "r2_buckets": "binding",
    "services": "binding",
    "analytics_engine_datasets": "binding",
    "vectorize": "binding",
    "hyperdrive": "binding",
    "workflows": "binding",
    "send_email": "name",
    "mtls_certificates": "binding",
    "dispatch_namespaces": "binding",
}
# Environments that must exist.
REQUIRED_ENVS = ("staging", "production")


def names(config):
    """Every binding, var and trigger `config` (the top level or one env) declares."""
    found = set()
    for table, key in BINDING_ARRAYS.items():
        for entry in config.get(table, []):
            found.add(f"{table}: {entry.get(key)}")
    for entry in config.get("durable_objects", {}).get("bindings", []):
        found.add(f"durable_objects: {entry.get('name')}")
    queues = config.get("queues", {})
    # Queue names differ per environment (one account holds them all): a consumer is named by
    # the binding of the producer that feeds its queue.
    producer_of = {}
    for entry in queues.get("producers", []):
        found.add(f"queues.producers: {entry.get('binding')}")
        producer_of[entry.get("queue")] = entry.get("binding")
    for entry in queues.get("consumers", []):
        queue = entry.get("queue")
        found.add(f"queues.consumers: {producer_of.get(queue, queue)}")
    for name in config.get("vars", {}):
        found.add(f"vars: {name}")
    for cron in config.get("triggers", {}).get("crons", []):
        found.add(f"triggers.crons: {cron}")
    for name in ("ai", "browser", "images", "version_metadata"):
        if name in config:
            found.add(f"{name}: {config[name].get('binding')}")
    return found


def missing(config):
    """`(env, item)` for each item of the top level that an environment lacks."""
    top = names(config)
    envs = config.get("env", {})
    out = [(env, "the whole environment") for env in REQUIRED_ENVS if env not in envs]
    for env, body in sorted(envs.items()):
        for item in sorted(top - names(body)):
            out.append((env, item))
    return out


def self_test():
    """The check itself: a queue, an R2 bucket, a cron or a var missing from one environment is
    reported for that environment only, and a complete config passes."""
    full = {
        "vars": {"A": "1"},
        "d1_databases": [{"binding": "DB"}],
        "queues": {"producers": [{"binding": "Q"}], "consumers": [{"queue": "q"}]},
        "r2_buckets": [{"binding": "ARCHIVE"}],
        "triggers": {"crons": ["0 3 * * *"]},
        "durable_objects": {"bindings": [{"name": "STORES"}]},
    }
    env = {k: v for k, v in full.items()}
    config = dict(full, env={"staging": env, "production": env})
    assert missing(config) == [], missing(config)
    for key, item in [
        ("queues", "queues.producers: Q"),
        ("r2_buckets", "r2_buckets: ARCHIVE"),
        ("triggers", "triggers.crons: 0 3 * * *"),
        ("vars", "vars: A"),
        ("durable_objects", "durable_objects: STORES"),
    ]:
        lacking = {k: v for k, v in full.items() if k != key}
        config = dict(full, env={"staging": env, "production": lacking})
        found = missing(config)
        assert ("production", item) in found and all(e == "production" for e, _ in found), found
    assert missing(dict(full, env={"staging": env})) == [("production", "the whole environment")]
    print("check-envs: self-test passed")
    return 0


def main():
    if sys.argv[1:] == ["--self-test"]:
        return self_test()
    path = sys.argv[1] if len(sys.argv) > 1 else "wrangler.toml"
    with open(path, "rb") as f:
        config = tomllib.load(f)
    problems = missing(config)
    for env, item in problems:
        print(f"{path}: [env.{env}] lacks {item} (bindings and vars are not inherited)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
