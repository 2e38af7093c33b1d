// A desktop notification service for the e2e tests: `org.freedesktop.Notifications` on the private
// D-Bus session run.sh starts (dbus-next), recording what the app shows and clicking on request, as a
// user does on a real desktop's notification.

import dbus from 'dbus-next';

const { Interface } = dbus.interface;

class Notifications extends Interface {
  constructor() {
    super('org.freedesktop.Notifications');
    this.shown = [];
    this.nextId = 1;
  }

  Notify(appName, replacesId, icon, summary, body, actions, hints, timeout) {
    const id = replacesId || this.nextId++;
    this.shown.push({ id, appName, summary, body, actions });
    return id;
  }

  GetCapabilities() {
    return ['actions', 'body'];
  }

  GetServerInformation() {
    return ['confab-e2e', 'Confab tests', '1', '1.2'];
  }

  CloseNotification(id) {
    this.NotificationClosed(id, 3);
  }

  ActionInvoked(id, key) {
    return [id, key];
  }

  NotificationClosed(id, reason) {
    return [id, reason];
  }
}

Notifications.configureMembers({
  methods: {
    Notify: { inSignature: 'susssasa{sv}i', outSignature: 'u' },
    GetCapabilities: { inSignature: '', outSignature: 'as' },
    GetServerInformation: { inSignature: '', outSignature: 'ssss' },
    CloseNotification: { inSignature: 'u', outSignature: '' },
  },
  signals: {
    ActionInvoked: { signature: 'us' },
    NotificationClosed: { signature: 'uu' },
  },
});

/**
 * Takes the notification service's name on the session bus. Returns { shown, click(id), stop() }:
 * `shown` lists { id, appName, summary, body, actions } as the app sent them; `click` invokes the
 * notification's default action (a click on it).
 */
export async function fakeNotificationService() {
  const bus = dbus.sessionBus();
  const service = new Notifications();
  bus.export('/org/freedesktop/Notifications', service);
  await bus.requestName('org.freedesktop.Notifications', dbus.NameFlag.DO_NOT_QUEUE);
  return {
    shown: service.shown,
    // As a desktop does: the action, then the notification goes.
    click: (id) => {
      service.ActionInvoked(id, 'default');
      service.NotificationClosed(id, 2);
    },
    stop: () => bus.disconnect(),
  };
}
