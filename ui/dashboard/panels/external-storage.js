/** Panel: external storage (windows.externalStorage): the blob account the file-moving features use. */
export default {
  id: 'external-storage',
  title: 'External storage',
  note: 'The connection string is stored in the desired twin (as in the original): prefer a SAS limited to the needed containers.',
  sections: [
    {
      name: 'externalStorage',
      fields: [
        { key: 'connectionString', label: 'Connection string', type: 'secret', required: true },
        {
          key: 'container',
          label: 'Container',
          type: 'text',
          pattern: '[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62}',
          patternHint: 'must be 3-63 lower-case letters, digits and single hyphens',
        },
      ],
    },
  ],
};
