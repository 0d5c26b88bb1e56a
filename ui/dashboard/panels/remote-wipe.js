/** Panel: remote wipe (windows.startRemoteWipeAsync, confirmed by typing the device id). */
export default {
  id: 'remote-wipe',
  title: 'Remote wipe',
  sections: [{ name: 'remoteWipe', reportOnly: true }],
  methods: [
    {
      name: 'windows.startRemoteWipeAsync',
      label: 'Remote wipe',
      destructive: true,
      sendEmptyPayload: true,
      warning: 'The device is wiped, provisioning data included.',
      fields: [{ key: 'clearTPM', label: 'Clear TPM', type: 'boolean' }],
    },
  ],
};
