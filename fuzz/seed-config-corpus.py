#!/usr/bin/env python3
"""Writes the seed inputs of the cfg_string and settings_file fuzz targets into
corpus/cfg_string/ and corpus/settings_file/, one file per seed named by its SHA-1 (as
libFuzzer names the inputs it adds). The seeds are the forms the parsers accept and the
near misses they refuse, so the fuzzer starts at the boundaries.
"""
import hashlib
import os

HERE = os.path.dirname(os.path.abspath(__file__))

CFG_STRINGS = [
    "file//var/lib/x.img",
    "file//v/x.img;direct=0;wce=1;ro=1",
    "file//v/x.img;ro=0;direct=1;",
    "file//v/./x.img",
    "file///v//x.img",
    "file//x;tcmur_cmd_time_out=4294967295",
    "file//x;tcmur_cmd_time_out=-1",
    "file/relative/x.img",
    "file//v/../x.img",
    "file//v/x.img;direct=maybe",
    "file/" + "/" + "a" * 250,
    "ram/",
    "ram/;",
    "ram/wce=1",
    "ram/tcmur_cmd_time_out=5;wce=1",
    "ram/size=1G",
    "glfs/gv0@gluster1/block-store/lun0",
    "glfs/gv0@a.example.com+10.0.0.2+b./d/f.img;tcmur_cmd_time_out=7",
    "glfs/bv@10.1.1.1/block-store/1c2;tcmur_cmd_time_out=42",
    "glfs/;tcmur_cmd_time_out=42;bv@h/p",
    "glfs/my_vol-2@10.0.0.1/img",
    "glfs/gv0@h+h/img",
    "glfs/gv0@fe80::1/p",
    "glfs/gv0@h/../p",
    "glfs/gv0@h/dir/",
    "glfs/gv0@h/.",
    "glfs/gv 0@h/p",
    "glfs/gv0@-bad-.example/p",
    "glfs/gv0@256.1.1.1/p",
    "glfs/gv0@h/p,q",
    "glfs/gv0@h/p\nq",
    "tape/x",
    "/x",
    "file",
]

SETTINGS_FILES = [
    """[log]
level = "debug"
target = "journald"
dir = "/srv/log"
[metrics]
listen = "127.0.0.1:9464"
[reactor]
threads = 3
busy_poll_us = 50
gather_us = 0
[file]
direct_io = false
[ram]
max_size = "2G"
[glfs]
connect_timeout_secs = 30
log_dir = "/srv/log/glfs"
cmd_time_out_secs = 0
""",
    """[exports]
portal = "[fd00::1]:3261"
volumes = ["gv0@gl1", "gv1@gl3+gl4"]
poll_secs = 300
state_dir = "/srv/state"
configfs = "/tmp/target"
""",
    """[exports]
portal = "10.0.0.1"
volumes = ["gv0@gl1+gl2"]
""",
    '[ram]\nmax_size = 17179869184\n',
    '[ram]\nmax_size = "16TiB"\n',
    '[ram]\nmax_size = "99999999999T"\n',
    '[reactor]\nthreads = 0\n',
    '[reactor]\nbusy_poll_us = 1000000\n',
    '[glfs]\nconnect_timeout_secs = 0\n',
    '[log]\nlevel = "loud"\n',
    '[nosuch]\nkey = 1\n',
    '[metrics]\nlisten = "[::1]:9750"\n',
    # tcmu-runner's tcmu.conf
    'log_level = 4\nlog_dir = "/var/log/tcmu"\n',
    '# comment\nlog_level=5 # trailing\nlog_dir_path = /x\nunknown = 1\nnot a pair\n',
    'log_level = 9\n',
    '',
]


def write(name, seeds):
    out = os.path.join(HERE, "corpus", name)
    os.makedirs(out, exist_ok=True)
    for seed in seeds:
        data = seed.encode()
        with open(os.path.join(out, hashlib.sha1(data).hexdigest()), "wb") as f:
            f.write(data)


write("cfg_string", CFG_STRINGS)
write("settings_file", SETTINGS_FILES)
