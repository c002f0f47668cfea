"""The CLI shell: subcommand registration, run options, output folders, exit codes and one-line user errors."""

import subprocess
import sys
import textwrap

import pytest

from rnnkit import __version__
from rnnkit.cli import common
from rnnkit.cli.main import main
from rnnkit.errors import UserError


def register_echo(subparsers):
    """A test-only subcommand: writes its seed into --out, or raises what --fail names."""
    parser = subparsers.add_parser("echo", help="write the seed to DIR/seed.txt")
    common.add_run_options(parser)
    parser.add_argument("--fail", choices=["user", "missing", "bug", "interrupt"])
    parser.add_argument("--exit", type=int, default=0)
    parser.set_defaults(func=run_echo)


def run_echo(args):
    if args.fail == "user":
        raise UserError("column 'price' not found in data.csv;\nknown: date, value")
    if args.fail == "missing":
        open(args.out / "no-such-file.csv")
    if args.fail == "bug":
        raise RuntimeError("a bug in rnnkit")
    if args.fail == "interrupt":
        raise KeyboardInterrupt
    out = common.prepare_out_dir(args.out, args.force)
    (out / "seed.txt").write_text(str(args.seed))
    return args.exit


def run(argv, capsys):
    code = main(argv, subcommands=[register_echo])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_version_and_help(capsys):
    assert run(["--version"], capsys) == (0, f"rnnkit {__version__}\n", "")
    code, out, _ = run(["echo", "--help"], capsys)
    assert code == 0 and all(option in out for option in ("--out DIR", "--force", "--seed INT"))
    code, out, _ = run(["--help"], capsys)
    assert code == 0 and "echo" in out


def test_a_run_writes_into_a_new_folder(tmp_path, capsys):
    out = tmp_path / "runs" / "one"
    assert run(["echo", "--out", str(out), "--seed", "7"], capsys) == (0, "", "")
    assert (out / "seed.txt").read_text() == "7"
    assert run(["echo", "--out", str(tmp_path / "two")], capsys)[0] == 0
    assert (tmp_path / "two" / "seed.txt").read_text() == "0"  # the default seed
    assert run(["echo", "--out", str(tmp_path / "three"), "--exit", "3"], capsys)[0] == 3


def test_a_non_empty_folder_needs_force_and_force_deletes_nothing(tmp_path, capsys):
    out = tmp_path / "run"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    code, stdout, stderr = run(["echo", "--out", str(out), "--seed", "1"], capsys)
    assert code == 2 and stdout == ""
    assert stderr.count("\n") == 1 and stderr.startswith(f"rnnkit: error: output folder {out} exists and is not")
    assert "--force" in stderr and "another --out" in stderr
    assert not (out / "seed.txt").exists()
    assert run(["echo", "--out", str(out), "--seed", "1", "--force"], capsys)[0] == 0
    assert run(["echo", "--out", str(out), "--seed", "2", "--force"], capsys)[0] == 0
    assert (out / "seed.txt").read_text() == "2" and (out / "notes.txt").read_text() == "mine"


def test_prepare_out_dir(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert common.prepare_out_dir(empty) == empty  # an empty folder is fine without --force
    (tmp_path / "file").write_text("x")
    with pytest.raises(UserError, match="is a file"):
        common.prepare_out_dir(tmp_path / "file", force=True)
    with pytest.raises(UserError, match="cannot create output folder"):
        common.prepare_out_dir(tmp_path / "file" / "below")


@pytest.mark.parametrize(
    "argv, message",
    [
        (["echo", "--seed", "1"], "the following arguments are required: --out"),
        (["echo", "--out", "x", "--seed", "-1"], "expected an integer >= 0, got -1"),
        (["echo", "--out", "x", "--seed", "one"], "expected an integer, got 'one'"),
        (["nope"], "invalid choice: 'nope'"),
        ([], "the following arguments are required: COMMAND"),
    ],
)
def test_usage_errors_exit_2(argv, message, capsys):
    code, _, err = run(argv, capsys)
    assert code == 2 and message in err and "Traceback" not in err


def test_user_errors_are_one_line(tmp_path, capsys):
    code, out, err = run(["echo", "--out", str(tmp_path), "--fail", "user"], capsys)
    assert (code, out) == (2, "")
    assert err == "rnnkit: error: column 'price' not found in data.csv; known: date, value\n"
    code, _, err = run(["echo", "--out", str(tmp_path), "--fail", "missing"], capsys)
    assert code == 2
    assert err == f"rnnkit: error: {tmp_path / 'no-such-file.csv'}: No such file or directory\n"


def test_bugs_keep_their_traceback_and_ctrl_c_exits_130(tmp_path, capsys):
    with pytest.raises(RuntimeError, match="a bug in rnnkit"):
        main(["echo", "--out", str(tmp_path), "--fail", "bug"], subcommands=[register_echo])
    assert run(["echo", "--out", str(tmp_path), "--fail", "interrupt"], capsys) == (130, "", "rnnkit: interrupted\n")


def test_the_module_runs_as_a_program(tmp_path):
    def program(*args):
        return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=60, cwd=tmp_path)

    done = program("-m", "rnnkit.cli.main", "--version")
    assert (done.returncode, done.stdout) == (0, f"rnnkit {__version__}\n")
    done = program("-m", "rnnkit.cli.main", "no-such-command")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    # a user error through the real exit path: sys.exit(main(...)) as the console script does
    script = textwrap.dedent(
        """
        import sys
        from rnnkit.errors import UserError
        from rnnkit.cli.main import main

        def register(subparsers):
            subparsers.add_parser("fail").set_defaults(func=fail)

        def fail(args):
            raise UserError("no column 'price' in data.csv")

        sys.exit(main(["fail"], subcommands=[register]))
        """
    )
    done = program("-c", script)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == "rnnkit: error: no column 'price' in data.csv\n"


def test_threads_sets_torch_threads_for_the_run(tmp_path, capsys):
    import torch

    before = torch.get_num_threads()
    try:
        assert run(["echo", "--out", str(tmp_path / "a"), "--threads", "3"], capsys)[0] == 0
        assert torch.get_num_threads() == 3
    finally:
        torch.set_num_threads(before)
    code, _, err = run(["echo", "--out", str(tmp_path / "b"), "--threads", "0"], capsys)
    assert code == 2 and "--threads" in err and not (tmp_path / "b").exists()


def test_threads_reach_commands_that_parse_their_own_forms(tmp_path, capsys):
    import torch

    before = torch.get_num_threads()
    try:
        assert main(["recognize", str(tmp_path / "nothing"), "x.npy", "--threads", "3"]) == 2  # not a model folder
        assert torch.get_num_threads() == 3
    finally:
        torch.set_num_threads(before)
