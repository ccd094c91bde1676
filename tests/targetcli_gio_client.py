"""Calls org.kernel.TCMUService1 exactly as targetcli-fb's ui_backstore.py does (Gio,
system bus, GetManagedObjects, CheckConfig '(s)', ChangeMedium '(sts)') and prints
what targetcli would see, one tab-separated line per fact (newlines in the help text
written as \\n). DBUS_SYSTEM_BUS_ADDRESS points it at a private bus.

Usage: /usr/bin/python3 tests/targetcli_gio_client.py CFG...   (needs python3-gi)
"""
import sys

from gi.repository import Gio


def user_backstores(bus):
    """targetcli's UIBackstores._user_backstores, minus the UI."""
    mgr = Gio.DBusProxy.new_sync(bus, Gio.DBusProxyFlags.NONE, None,
                                 'org.kernel.TCMUService1',
                                 '/org/kernel/TCMUService1',
                                 'org.freedesktop.DBus.ObjectManager', None)
    for path, props in mgr.GetManagedObjects().items():
        iface = Gio.DBusProxy.new_sync(bus, Gio.DBusProxyFlags.NONE, None,
                                       'org.kernel.TCMUService1', path,
                                       'org.kernel.TCMUService1', None)
        yield path[path.rfind('/') + 1:], iface, props


def main(cfgs):
    bus = Gio.bus_get_sync(Gio.BusType.SYSTEM, None)
    ifaces = {}
    for name, iface, props in sorted(user_backstores(bus), key=lambda t: t[0]):
        desc = props.get('org.kernel.TCMUService1', {}).get('ConfigDesc',
                                                            'No description.')
        print('backstore\tuser:%s\t%s' % (name, desc.replace('\n', '\\n')))
        ifaces[name] = iface
    for cfg in cfgs:
        handler, cfgstring = cfg.split('/', 1)
        ok, msg = ifaces[handler].CheckConfig('(s)', handler + '/' + cfgstring)
        print('check\t%s\t%s\t%s' % (cfg, ok, msg))
    rc, msg = ifaces['ram'].ChangeMedium('(sts)', 'lun9', 4096, 'ram/')
    print('change\t%d\t%s' % (rc, msg))


if __name__ == '__main__':
    main(sys.argv[1:])
