/**
 * scripts/gen-ddf.ts: the committed data/ddf-facts.tsv and native/emulator/generated/ddf_facts.inc
 * are exactly what Microsoft's DDF files (../shared/ddf) give, the output is deterministic, and
 * a few facts are checked by hand. Without ../shared/ddf the regeneration tests are skipped (the
 * committed table is still read).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { buildModel, INC_PATH, render, TSV_PATH } from '../../scripts/gen-ddf';
import { DDF_DIR, FACTS_INC, FACTS_TSV, haveDdf, readFacts, REPO_ROOT, type Fact } from './facts';

const SKIP_REASON = `the DDF files are not at ${DDF_DIR}`;

function runGenerator(args: string[]) {
  const cli = require.resolve('tsx/cli');
  return spawnSync(process.execPath, [cli, join(REPO_ROOT, 'scripts/gen-ddf.ts'), ...args], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
  });
}

describe('DDF facts generator (scripts/gen-ddf.ts)', function () {
  this.timeout(120000);
  let out: string;

  before(function () {
    if (!haveDdf()) {
      console.log(`    (gen-ddf: skipped, ${SKIP_REASON})`);
      this.skip();
    }
    out = mkdtempSync(join(tmpdir(), 'wdm-gen-ddf-'));
  });
  after(() => {
    if (out) rmSync(out, { recursive: true, force: true });
  });

  it('regenerates both committed files byte for byte', () => {
    const r = runGenerator([DDF_DIR, '--out', out]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /5\d{3} rows/);
    for (const rel of [TSV_PATH, INC_PATH]) {
      const fresh = readFileSync(join(out, rel));
      const committed = readFileSync(join(REPO_ROOT, rel));
      assert.ok(
        fresh.equals(committed),
        `${rel} differs from what the DDFs give: run \`npm run gen:ddf\` and commit the result`,
      );
    }
  });

  it('--check passes on the repository and fails on a stale copy', () => {
    const ok = runGenerator([DDF_DIR, '--check']);
    assert.equal(ok.status, 0, ok.stderr);
    const stale = mkdtempSync(join(tmpdir(), 'wdm-gen-ddf-stale-'));
    try {
      for (const rel of [TSV_PATH, INC_PATH]) {
        mkdirSync(dirname(join(stale, rel)), { recursive: true });
        writeFileSync(join(stale, rel), readFileSync(join(REPO_ROOT, rel)));
      }
      const inc = join(stale, INC_PATH);
      writeFileSync(inc, readFileSync(inc, 'utf8').replace('"Exec,Get"', '"Get"'));
      const r = runGenerator([DDF_DIR, '--out', stale, '--check']);
      assert.equal(r.status, 1);
      assert.match(r.stderr, /ddf_facts\.inc is out of date/);
      assert.doesNotMatch(r.stderr, /ddf-facts\.tsv/);
    } finally {
      rmSync(stale, { recursive: true, force: true });
    }
  });

  it('is deterministic: two in-process runs render the same bytes, LF only, no BOM', () => {
    const a = render(buildModel(DDF_DIR));
    const b = render(buildModel(DDF_DIR));
    assert.deepEqual(a, b);
    for (const text of Object.values(a)) {
      assert.ok(!text.includes('\r\n') && text.charCodeAt(0) !== 0xfeff);
      assert.ok(text.endsWith('\n'));
    }
    const files = readdirSync(DDF_DIR, { recursive: true }).filter((f) =>
      /\.xml$/i.test(String(f)),
    );
    assert.match(a[TSV_PATH]!, new RegExp(`from ${files.length} Microsoft DDF files`));
  });

  it('carries no DDF prose (descriptions, titles, value descriptions)', () => {
    const outputs = readFileSync(FACTS_TSV, 'utf8') + readFileSync(FACTS_INC, 'utf8');
    let checked = 0;
    for (const rel of readdirSync(DDF_DIR, { recursive: true }).map(String)) {
      if (!/\.xml$/i.test(rel)) continue;
      const xml = readFileSync(join(DDF_DIR, rel), 'utf8');
      const prose = xml.matchAll(
        /<(Description|DFTitle|MSFT:ValueDescription)>(?:<!\[CDATA\[)?([^<\]]{24,})/g,
      );
      for (const m of prose) {
        const text = m[2]!.trim().slice(0, 60);
        if (text.length < 24 || text.split(' ').length < 4) continue; // prose, not a node name
        checked++;
        assert.ok(!outputs.includes(text), `${rel}: ${m[1]} text found in the outputs: ${text}`);
      }
    }
    assert.ok(checked > 1000, `only ${checked} prose samples`);
  });
});

describe('DDF facts generator on small hand-written DDFs', () => {
  const props = (format: string, access: string[], extra = '') =>
    `<DFProperties><AccessType>${access.map((a) => `<${a}/>`).join('')}</AccessType>` +
    `<DFFormat><${format}/></DFFormat><Occurrence><One/></Occurrence><Scope><Permanent/></Scope>` +
    `<DFType><MIME>text/plain</MIME></DFType>${extra}</DFProperties>`;
  const ddf = (...nodes: string[]) =>
    '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE MgmtTree PUBLIC " -//OMA//DTD-DM-DDF 1.2//EN"\n' +
    '  "http://www.openmobilealliance.org/tech/DTD/DM_DDF-V1_2.dtd"\n' +
    '  [<?oma-dm-ddf-ver supported-versions="1.2"?>]>\n' +
    `<MgmtTree xmlns:MSFT="http://schemas.microsoft.com/MobileDevice/DM"><VerDTD>1.2</VerDTD>${nodes.join('')}</MgmtTree>\n`;
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'wdm-gen-ddf-mini-'));
    mkdirSync(join(dir, 'policy'));
    // A: BOM, ./Vendor/MSFT/ with a trailing slash, a dynamic node, a NodeName with spaces.
    writeFileSync(
      join(dir, 'A.xml'),
      '\ufeff' +
        ddf(
          `<Node><NodeName>Csp</NodeName><Path>./Vendor/MSFT/</Path>${props('node', ['Get'])}` +
            `<Node><NodeName></NodeName>${props('node', ['Add', 'Get'])}` +
            `<Node><NodeName> Leaf </NodeName>${props(
              'int',
              ['Get'],
              '<DefaultValue>5</DefaultValue><MSFT:AllowedValues ValueType="Range">' +
                '<MSFT:Value>[0-9]</MSFT:Value></MSFT:AllowedValues>',
            )}</Node></Node></Node>`,
        ),
    );
    // B (read after A): the same leaf again, more access, another range; a ./User root; DDF v1
    // style root at ".", no MSFT extensions.
    writeFileSync(
      join(dir, 'B.xml'),
      ddf(
        `<Node><NodeName>Csp</NodeName><Path>./Device/Vendor/MSFT</Path>${props('node', ['Get'])}` +
          `<Node><NodeName/>${props('node', ['Add', 'Get'])}` +
          `<Node><NodeName>Leaf</NodeName>${props(
            'int',
            ['Replace'],
            '<MSFT:AllowedValues ValueType="ENUM"><MSFT:Enum><MSFT:Value>1</MSFT:Value>' +
              '<MSFT:ValueDescription>words that must not be kept</MSFT:ValueDescription>' +
              '</MSFT:Enum><MSFT:Enum><MSFT:Value>2</MSFT:Value></MSFT:Enum></MSFT:AllowedValues>',
          )}</Node></Node></Node>`,
        `<Node><NodeName>Csp</NodeName><Path>./User/Vendor/MSFT</Path>${props('node', ['Get'])}</Node>`,
        `<Node><NodeName>Root1</NodeName><Path>.</Path>${props('node', ['Get'])}` +
          `<Node><NodeName>V</NodeName>${props('chr', ['Get'], '<CaseSense><CIS/></CaseSense>')}</Node></Node>`,
      ),
    );
    // A policy area root lands under Config.
    writeFileSync(
      join(dir, 'policy', 'Area_AreaDDF.xml'),
      ddf(
        `<Node><NodeName>Area</NodeName><Path>./Device/Vendor/MSFT/Policy/Config</Path>${props('node', ['Get'])}` +
          `<Node><NodeName>P</NodeName>${props('chr', ['Add', 'Delete', 'Get', 'Replace'], '<MSFT:AllowedValues ValueType="ADMX"><MSFT:AdmxBacked Area="a" Name="n" File="f.admx"/></MSFT:AllowedValues>')}</Node></Node>`,
      ),
    );
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('canonical paths, merged definitions, facts only', () => {
    const model = buildModel(dir);
    assert.deepEqual(model.files, ['A.xml', 'B.xml', 'policy/Area_AreaDDF.xml']);
    assert.deepEqual(
      model.nodes.map((n) => n.path),
      [
        './Device/Vendor/MSFT/Csp',
        './Device/Vendor/MSFT/Csp/<x>',
        './Device/Vendor/MSFT/Csp/<x>/Leaf',
        './Device/Vendor/MSFT/Policy/Config/Area',
        './Device/Vendor/MSFT/Policy/Config/Area/P',
        './Root1',
        './Root1/V',
        './User/Vendor/MSFT/Csp',
      ],
    );
    const leaf = model.nodes[2]!;
    assert.deepEqual([...leaf.access].sort(), ['Get', 'Replace']); // union
    assert.equal(leaf.allowedType, 'ENUM'); // the last definition wins
    assert.deepEqual(leaf.allowedValues, ['1', '2']);
    assert.equal(leaf.defaultValue, '5'); // kept: B has none
    assert.equal(model.merged, 3);
    assert.ok(model.conflicts.some((c) => c.includes('allowedType')));
    assert.equal(model.nodes[6]!.caseSense, 'CIS');
    assert.equal(model.nodes[4]!.allowedType, 'ADMX');
    assert.deepEqual(model.nodes[4]!.allowedValues, []);
    const out = render(model);
    assert.ok(!out[TSV_PATH]!.includes('words') && !out[INC_PATH]!.includes('words'));
    assert.ok(!out[INC_PATH]!.includes('.admx'));
    assert.match(
      out[INC_PATH]!,
      /\{"\.\/Device\/Vendor\/MSFT\/Csp\/<x>\/Leaf", "int", "Get,Replace", "One", "Permanent", "5", "ENUM:1\\0372", "text\/plain", nullptr, nullptr\},/,
    );
  });
});

describe('DDF facts table (data/ddf-facts.tsv)', () => {
  const facts = readFacts();
  const byPath = new Map<string, Fact>(facts.map((f) => [f.path, f]));
  const fact = (path: string): Fact => {
    const f = byPath.get(path);
    assert.ok(f, `no row for ${path}`);
    return f;
  };

  it('is sorted by path with unique paths, and the .inc has one row per TSV row', () => {
    const paths = facts.map((f) => f.path);
    assert.deepEqual(
      paths,
      [...paths].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)),
    );
    assert.equal(new Set(paths).size, paths.length);
    const incRows = readFileSync(FACTS_INC, 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('{'));
    assert.equal(incRows.length, facts.length);
    assert.ok(facts.length > 5000);
  });

  it('covers the CSPs and Policy areas the project uses', () => {
    const roots = [
      './DevDetail',
      './DevInfo',
      './Device/Vendor/MSFT/DeviceStatus',
      './Device/Vendor/MSFT/Reboot',
      './Device/Vendor/MSFT/RemoteWipe',
      './Device/Vendor/MSFT/Update',
      './Device/Vendor/MSFT/EnterpriseModernAppManagement',
      './Device/Vendor/MSFT/EnterpriseDesktopAppManagement',
      './Device/Vendor/MSFT/RootCATrustedCertificates',
      './Device/Vendor/MSFT/CertificateStore',
      './Device/Vendor/MSFT/ClientCertificateInstall',
      './Device/Vendor/MSFT/WiFi',
      './Device/Vendor/MSFT/DiagnosticLog',
      './Device/Vendor/MSFT/HealthAttestation',
      './Device/Vendor/MSFT/CustomDeviceUI',
      './Device/Vendor/MSFT/DMClient',
      './Device/Vendor/MSFT/Defender',
      './Device/Vendor/MSFT/BitLocker',
      './Device/Vendor/MSFT/Firewall',
      './Device/Vendor/MSFT/NetworkProxy',
      './Device/Vendor/MSFT/DeviceManageability',
      './SyncML/DMAcc',
      './User/Vendor/MSFT/Policy',
    ];
    for (const area of ['Update', 'System', 'TimeLanguageSettings', 'Experience', 'DeviceLock']) {
      roots.push(`./Device/Vendor/MSFT/Policy/Config/${area}`);
    }
    for (const root of roots) assert.equal(fact(root).format, 'node', root);
    assert.ok(!facts.some((f) => f.path.startsWith('./Vendor/')), './Vendor is canonicalized');
  });

  it('Reboot/RebootNow is a null node with Exec and Get', () => {
    const f = fact('./Device/Vendor/MSFT/Reboot/RebootNow');
    assert.equal(f.format, 'null');
    assert.equal(f.access, 'EG');
    assert.equal(f.scope, 'Permanent');
  });

  it('ActiveHoursStart: int, [0-23], default 8, device scope only (as the DDF says)', () => {
    const f = fact('./Device/Vendor/MSFT/Policy/Config/Update/ActiveHoursStart');
    assert.deepEqual(
      [f.format, f.access, f.allowedType, f.allowedValues, f.defaultValue, f.occurrence],
      ['int', 'ADGR', 'Range', ['[0-23]'], '8', 'ZeroOrOne'],
    );
    assert.equal(byPath.get('./User/Vendor/MSFT/Policy/Config/Update/ActiveHoursStart'), undefined);
    const user = fact('./User/Vendor/MSFT/Policy/Config/Experience/AllowSpotlightCollection');
    assert.equal(user.format, 'int');
  });

  it('WiFi/Profile/<x>/WlanXml is chr in both scopes; dynamic nodes are written <x>', () => {
    for (const scope of ['Device', 'User']) {
      const f = fact(`./${scope}/Vendor/MSFT/WiFi/Profile/<x>/WlanXml`);
      assert.equal(f.format, 'chr');
      assert.equal(fact(`./${scope}/Vendor/MSFT/WiFi/Profile/<x>`).format, 'node');
    }
  });

  it('keeps allowed types and values: ENUM lists, ADMX without payload, RegEx patterns', () => {
    const enumFact = fact(
      './Device/Vendor/MSFT/Policy/Config/TimeLanguageSettings/AllowSet24HourClock',
    );
    assert.deepEqual([enumFact.allowedType, enumFact.allowedValues], ['ENUM', ['0', '1']]);
    const admx = facts.filter((f) => f.allowedType === 'ADMX');
    assert.ok(admx.length > 1000);
    assert.ok(admx.every((f) => f.allowedValues.length === 0 && f.format === 'chr'));
    const regex = fact('./Device/Vendor/MSFT/Personalization/CompanyName');
    assert.deepEqual([regex.allowedType, regex.allowedValues], ['RegEx', ['^.{1,30}$']]);
    const list = fact('./Device/Vendor/MSFT/Firewall/MdmStore/FirewallRules/<x>/InterfaceTypes');
    assert.equal(list.listDelimiter, ',');
    assert.ok(list.allowedValues.includes('Wireless'));
  });

  it('DDF v1 roots: DevDetail and DevInfo sit at the root, CaseSense is kept', () => {
    assert.equal(fact('./DevDetail/SwV').access, 'G');
    assert.equal(fact('./DevDetail/Ext/Microsoft/DeviceName').access, 'GR');
    assert.equal(fact('./DevInfo/DevId').format, 'chr');
    assert.equal(fact('./Device/Vendor/MSFT/RootCATrustedCertificates/Root/<x>').caseSense, 'CIS');
    assert.equal(fact('./Device/Vendor/MSFT/RootCATrustedCertificates/Root/<x>').access, 'DG');
  });
});
