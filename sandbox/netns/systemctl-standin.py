#!/usr/bin/python3
# The one stand-in of the Debian LB host tier (sandbox/netns/debian-host.ts): `systemctl` for
# a network + mount namespace that has no systemd. It reads the packages' own unit files
# (/lib/systemd/system/<unit>.service: haproxy, nginx, keepalived) and runs what they say,
# with systemd's semantics for the verbs the push uses (docs/contracts.md §D.3, §D.4):
#
#   start              Condition*FileNotEmpty= checked first: when it fails the start is
#                      skipped and still succeeds (systemd.unit(5) "Conditions"); then
#                      ExecStartPre=, ExecStart=; Type=notify waits for READY=1 on
#                      $NOTIFY_SOCKET, Type=forking for the start command and its PIDFile=
#   reload             fails on an inactive unit; otherwise every ExecReload= line in order,
#                      with $MAINPID; the first failing line fails the reload
#   reload-or-restart  reload when active, start when not
#   restart            stop, then start
#   stop               ExecStop= if any, else SIGTERM to the main process; waits, then SIGKILL
#   is-active [-q]     "active" (exit 0) while the main process lives, else "inactive"/"failed" (3)
#
# Environment=, EnvironmentFile= (a leading "-": optional) and $VAR / ${VAR} expansion as in
# systemd.service(5) "Command lines". What systemd itself adds (cgroups, sandboxing options,
# Restart=, BindReadOnlyPaths=) is not imitated. The services' output goes to
# /run/systemctl-standin/<unit>.journal, where journalctl would find it.
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import time

UNIT_DIRS = ['/etc/systemd/system', '/lib/systemd/system']
STATE = '/run/systemctl-standin'
START_TIMEOUT_S = 20
# keepalived sends READY=1 only when its parent is PID 1 named "systemd" (keepalived
# lib/systemd.c check_parent_systemd), never here: its own pid file, which it writes once
# running, stands in for the notification.
READY_WITHOUT_NOTIFY = {'keepalived': '/run/keepalived.pid'}


def die(message, code=1):
    sys.stderr.write(message + '\n')
    sys.exit(code)


def load_unit(name):
    for d in UNIT_DIRS:
        path = os.path.join(d, name + '.service')
        if os.path.exists(path):
            break
    else:
        die(f'Unit {name}.service could not be found.', 5)
    keys = {}
    with open(path) as f:
        text = f.read().replace('\\\n', ' ')
    for line in text.splitlines():
        line = line.strip()
        if not line or line[0] in '#;[' or '=' not in line:
            continue
        key, value = line.split('=', 1)
        keys.setdefault(key.strip(), []).append(value.strip())
    return keys


def environment(unit):
    env = dict(os.environ)
    for value in unit.get('Environment', []):
        for word in shlex.split(value):
            k, _, v = word.partition('=')
            env[k] = v
    for value in unit.get('EnvironmentFile', []):
        optional = value.startswith('-')
        path = value.lstrip('-')
        if not os.path.exists(path):
            if optional:
                continue
            die(f'Failed to load environment files: {path}')
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line and not line.startswith('#') and '=' in line:
                    k, _, v = line.partition('=')
                    words = shlex.split(v)
                    env[k.strip()] = words[0] if words else ''
    return env


def expand(cmdline, env):
    """systemd.service(5): "$VAR" alone is split into words (none when empty), "${VAR}" is one word."""
    ignore_failure = cmdline.startswith('-')
    argv = []
    for word in shlex.split(cmdline.lstrip('-@+!')):
        if word.startswith('$') and not word.startswith('${') and word[1:].isidentifier():
            argv.extend(env.get(word[1:], '').split())
            continue
        out, i = '', 0
        while i < len(word):
            if word[i] == '$' and word[i + 1:i + 2] == '{':
                end = word.index('}', i)
                out += env.get(word[i + 2:end], '')
                i = end + 1
            elif word[i] == '$' and (word[i + 1:i + 2].isalpha() or word[i + 1:i + 2] == '_'):
                j = i + 1
                while j < len(word) and (word[j].isalnum() or word[j] == '_'):
                    j += 1
                out += env.get(word[i + 1:j], '')
                i = j
            else:
                out += word[i]
                i += 1
        argv.append(out)
    return argv, ignore_failure


def state_path(name):
    return os.path.join(STATE, name + '.json')


def read_state(name):
    try:
        with open(state_path(name)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def write_state(name, state):
    os.makedirs(STATE, exist_ok=True)
    with open(state_path(name), 'w') as f:
        json.dump(state, f)


def alive(pid):
    try:
        with open(f'/proc/{pid}/stat') as f:
            return f.read().rsplit(')', 1)[1].split()[0] != 'Z'
    except (OSError, IndexError):
        return False


def main_pid(name, unit):
    state = read_state(name)
    pid = state.get('mainpid')
    if unit.get('Type', ['simple'])[-1] == 'forking' and unit.get('PIDFile'):
        try:
            with open(unit['PIDFile'][-1]) as f:
                pid = int(f.read().strip())
        except (OSError, ValueError):
            pass
    return pid if pid and alive(pid) else None


def journal(name):
    os.makedirs(STATE, exist_ok=True)
    return open(os.path.join(STATE, name + '.journal'), 'ab')


def run_line(name, line, env):
    argv, ignore_failure = expand(line, env)
    with journal(name) as log:
        code = subprocess.call(argv, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    return code == 0 or ignore_failure


def job_failed(name, what='the control process exited with error code'):
    die(f'Job for {name}.service failed because {what}.\n'
        f'See "systemctl status {name}.service" and "journalctl -xeu {name}.service" for details.')


def conditions_hold(unit):
    for path in unit.get('ConditionFileNotEmpty', []):
        negate = path.startswith('!')
        path = path.lstrip('!')
        holds = os.path.isfile(path) and os.path.getsize(path) > 0
        if holds == negate:
            return False
    return True


def start(name, unit):
    if main_pid(name, unit):
        return
    if not conditions_hold(unit):
        write_state(name, {'result': 'condition'})
        return
    env = environment(unit)
    for line in unit.get('ExecStartPre', []):
        if not run_line(name, line, env):
            write_state(name, {'result': 'failed'})
            job_failed(name)
    kind = unit.get('Type', ['simple'])[-1]
    argv, _ = expand(unit['ExecStart'][-1], env)
    if kind == 'forking':
        with journal(name) as log:
            code = subprocess.call(argv, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        deadline = time.time() + START_TIMEOUT_S
        while code == 0 and not main_pid(name, unit) and time.time() < deadline:
            time.sleep(0.05)
        if code != 0 or not main_pid(name, unit):
            write_state(name, {'result': 'failed'})
            job_failed(name)
        write_state(name, {'result': 'success'})
        return
    notify_path = os.path.join(STATE, name + '.notify')
    os.makedirs(STATE, exist_ok=True)
    if os.path.exists(notify_path):
        os.unlink(notify_path)
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(notify_path)
    notify.settimeout(0.1)
    env = dict(env, NOTIFY_SOCKET=notify_path)
    with journal(name) as log:
        child = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
    ready = kind != 'notify'
    pid = child.pid
    deadline = time.time() + START_TIMEOUT_S
    while not ready and child.poll() is None and time.time() < deadline:
        if pid_file_names(READY_WITHOUT_NOTIFY.get(name), child.pid):
            ready = True
            break
        try:
            message = notify.recv(4096).decode(errors='replace')
        except socket.timeout:
            continue
        for field in message.split('\n'):
            if field == 'READY=1':
                ready = True
            elif field.startswith('MAINPID='):
                pid = int(field[len('MAINPID='):])
    notify.close()
    os.unlink(notify_path)
    if not ready or child.poll() is not None:
        if child.poll() is None:
            child.kill()
        write_state(name, {'result': 'failed'})
        job_failed(name)
    write_state(name, {'result': 'success', 'mainpid': pid})


def pid_file_names(path, pid):
    try:
        with open(path) as f:
            return int(f.read().strip()) == pid
    except (TypeError, OSError, ValueError):
        return False


def stop(name, unit):
    pid = main_pid(name, unit)
    if pid is None:
        write_state(name, {'result': 'success'})
        return
    env = dict(environment(unit), MAINPID=str(pid))
    if unit.get('ExecStop'):
        for line in unit['ExecStop']:
            run_line(name, line, env)
    else:
        os.kill(pid, signal.SIGTERM)
    deadline = time.time() + 5
    while alive(pid) and time.time() < deadline:
        time.sleep(0.05)
    if alive(pid):
        os.kill(pid, signal.SIGKILL)
    write_state(name, {'result': 'success'})


def reload(name, unit):
    pid = main_pid(name, unit)
    if pid is None:
        die(f'{name}.service is not active, cannot reload.')
    env = dict(environment(unit), MAINPID=str(pid))
    for line in unit.get('ExecReload', []):
        if not run_line(name, line, env):
            job_failed(name)


def main(args):
    quiet = any(a in ('-q', '--quiet') for a in args)
    words = [a for a in args if a not in ('-q', '--quiet')]
    if len(words) != 2:
        die(f'systemctl stand-in: only "<verb> <unit>" is supported, got: {" ".join(args)}', 2)
    verb, name = words[0], words[1].removesuffix('.service')
    unit = load_unit(name)
    if verb == 'is-active':
        active = main_pid(name, unit) is not None
        if not quiet:
            print('active' if active else 'failed' if read_state(name).get('result') == 'failed' else 'inactive')
        sys.exit(0 if active else 3)
    elif verb == 'start':
        start(name, unit)
    elif verb == 'stop':
        stop(name, unit)
    elif verb == 'restart':
        stop(name, unit)
        start(name, unit)
    elif verb == 'reload':
        reload(name, unit)
    elif verb in ('reload-or-restart', 'try-reload-or-restart'):
        if main_pid(name, unit):
            reload(name, unit)
        elif verb == 'reload-or-restart':
            start(name, unit)
    else:
        die(f'systemctl stand-in: the verb {verb} is not supported (start, stop, restart, reload, reload-or-restart, is-active)', 2)


if __name__ == '__main__':
    main(sys.argv[1:])
