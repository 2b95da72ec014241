"""Glue for the one-line scripts under ``workflow/scripts``: logging to the rule's log file, the
validated config (Snakemake already validated it; the dataclass views fill the defaults) and the
``divrec.job.Job`` every rule body takes."""

from __future__ import annotations

import contextlib
import copy
import logging
import sys

from divrec.config import for_dataset, validate
from divrec.device import limit_threads, tune_malloc
from divrec.errors import DivrecError
from divrec.job import Job


@contextlib.contextmanager
def rule_context(smk):
    """Send stdout/stderr and logging of the job to ``log[0]``; yield the ``Job`` (its config as
    the job's dataset sees it: ``dataset_overrides`` applied)."""
    log_path = smk.log[0] if len(smk.log) else None
    threads = getattr(smk, "threads", 1) or 1
    with contextlib.ExitStack() as stack:
        stream = stack.enter_context(open(log_path, "a")) if log_path else None  # noqa: SIM115
        if stream:
            stack.enter_context(contextlib.redirect_stdout(stream))
            stack.enter_context(contextlib.redirect_stderr(stream))
        logging.basicConfig(level=logging.INFO, stream=stream or sys.stderr, force=True,
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        stack.enter_context(limit_threads(threads))
        tune_malloc()
        logger = logging.getLogger("divrec")
        logger.info("rule %s, wildcards %s", smk.rule, dict(smk.wildcards))
        try:
            cfg = validate(copy.deepcopy(dict(smk.config)), check_params=False)
            dataset = getattr(smk.wildcards, "dataset", None)
            yield Job(for_dataset(cfg, dataset) if dataset else cfg, smk.wildcards, smk.input,
                      smk.output, smk.params, threads, smk.log)
        except DivrecError as e:  # one clear line in the log and on the console, no traceback
            logger.error("%s", e)
            print(f"divrec error in rule {smk.rule}: {e}", file=sys.__stderr__)
            raise SystemExit(1) from None
        except Exception:  # the traceback belongs in the rule's log, a pointer on the console
            logger.exception("rule %s failed", smk.rule)
            where = f"; traceback in {log_path}" if log_path else ""
            print(f"divrec: rule {smk.rule} failed{where}", file=sys.__stderr__)
            raise SystemExit(1) from None


def run(smk, body) -> None:
    """What every workflow script does: ``run(snakemake, body)`` with ``body(job)`` a library
    function (the rule's body), inside ``rule_context``."""
    with rule_context(smk) as job:
        body(job)
