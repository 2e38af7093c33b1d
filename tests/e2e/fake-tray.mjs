// A system tray for the e2e tests: `org.kde.StatusNotifierWatcher` on the private D-Bus session
// run.sh starts (dbus-next), as a desktop's panel provides it. The app's tray icon (libappindicator)
// registers with it; its menu is then read and clicked over com.canonical.dbusmenu, as a panel does
// when the user opens the icon's menu.

import dbus from 'dbus-next';

const { Interface } = dbus.interface;
const WATCHER = 'org.kde.StatusNotifierWatcher';

class Watcher extends Interface {
  constructor() {
    super(WATCHER);
    this.items = [];
  }

  get RegisteredStatusNotifierItems() {
    return this.items.map((item) => `${item.sender}${item.path}`);
  }

  get IsStatusNotifierHostRegistered() {
    return true;
  }

  get ProtocolVersion() {
    return 0;
  }

  RegisterStatusNotifierHost() {}

  StatusNotifierItemRegistered(service) {
    return service;
  }

  StatusNotifierHostRegistered() {}
}

Watcher.configureMembers({
  properties: {
    RegisteredStatusNotifierItems: { signature: 'as', access: 'read' },
    IsStatusNotifierHostRegistered: { signature: 'b', access: 'read' },
    ProtocolVersion: { signature: 'i', access: 'read' },
  },
  methods: { RegisterStatusNotifierHost: { inSignature: 's', outSignature: '' } },
  signals: { StatusNotifierItemRegistered: { signature: 's' }, StatusNotifierHostRegistered: { signature: '' } },
});

/** A dbusmenu layout node ([id, properties, children]) as { id, label, enabled, children }. */
function readLayout([id, properties, children]) {
  const value = (name) => properties[name]?.value;
  return {
    id,
    label: (value('label') ?? '').replace(/_/g, ''),
    enabled: value('enabled') !== false,
    type: value('type') ?? 'standard',
    children: children.map((child) => readLayout(child.value)),
  };
}

/**
 * Takes the watcher's name on the session bus. Returns { item(), menu(), click(label), stop() }:
 * `item()` is the registered icon ({ sender, path }, or undefined), `menu()` its menu's entries
 * ({ id, label, enabled, type }), `click(label)` clicks the entry with that label.
 */
export async function fakeTray() {
  const bus = dbus.sessionBus();
  const watcher = new Watcher();
  // The registration is answered here: the caller's unique name is the icon's service, and a plain
  // Interface method is not told who called.
  bus.addMethodHandler((message) => {
    if (message.interface !== WATCHER || message.member !== 'RegisterStatusNotifierItem') return false;
    const [service] = message.body;
    const item = service.startsWith('/') ? { sender: message.sender, path: service } : { sender: service, path: '/StatusNotifierItem' };
    watcher.items.push(item);
    bus.send(dbus.Message.newMethodReturn(message, '', []));
    watcher.StatusNotifierItemRegistered(`${item.sender}${item.path}`);
    return true;
  });
  bus.export('/StatusNotifierWatcher', watcher);
  await bus.requestName(WATCHER, dbus.NameFlag.DO_NOT_QUEUE);

  const menuInterface = async () => {
    const item = watcher.items.at(-1);
    if (!item) throw new Error('no tray icon registered');
    const object = await bus.getProxyObject(item.sender, item.path);
    const menuPath = (await object.getInterface('org.freedesktop.DBus.Properties').Get('org.kde.StatusNotifierItem', 'Menu')).value;
    return (await bus.getProxyObject(item.sender, menuPath)).getInterface('com.canonical.dbusmenu');
  };
  const entries = async (menu) => {
    const [, layout] = await menu.GetLayout(0, -1, []);
    return readLayout(layout).children;
  };
  return {
    item: () => watcher.items.at(-1),
    menu: async () => entries(await menuInterface()),
    click: async (label) => {
      const menu = await menuInterface();
      const entry = (await entries(menu)).find((e) => e.label === label);
      if (!entry) throw new Error(`no tray menu entry "${label}"`);
      await menu.Event(entry.id, 'clicked', new dbus.Variant('s', ''), 0);
    },
    stop: () => bus.disconnect(),
  };
}
