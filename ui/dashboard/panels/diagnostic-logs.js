/** Panel: diagnostic logs (eventTracingCollectors) and the DM folder methods (enumerate, upload, delete). */
const name = (key, label) => ({
  key,
  label,
  type: 'text',
  required: true,
  pattern: '[^\\\\/:*?"<>|]+',
  patternHint: 'must be a plain name (no / \\ : or wildcards)',
});

export default {
  id: 'diagnostic-logs',
  title: 'Diagnostic logs and DM files',
  sections: [
    {
      name: 'eventTracingCollectors',
      json: true,
      hint: '{ "<collector>": { "reportProperties": "yes", "applyProperties": { "traceLogFileMode", "logFileSizeLimitMB", "logFileFolder", "logFileName", "started", "<provider GUID>": { "traceLevel", "keywords", "enabled", "type": "provider" } } }, "?": "detailed" }',
    },
  ],
  methods: [
    { name: 'windows.enumDMFolders', label: 'List DM folders' },
    { name: 'windows.enumDMFiles', label: 'List files', fields: [name('folder', 'Folder')] },
    {
      name: 'windows.uploadDMFile',
      label: 'Upload file',
      fields: [
        name('folder', 'Folder'),
        name('fileName', 'File name'),
        { key: 'container', label: 'Container', type: 'text', required: true },
        { key: 'connectionString', label: 'Storage connection string (optional)', type: 'secret' },
      ],
    },
    {
      name: 'windows.deleteDMFile',
      label: 'Delete file',
      fields: [name('folder', 'Folder'), name('fileName', 'File name')],
    },
  ],
};
