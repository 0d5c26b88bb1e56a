<#
.SYNOPSIS
  Installs examples/background-agent as the Windows service "windows-iot-dm-agent".
.DESCRIPTION
  node.exe does not speak the Service Control Manager protocol (a service started straight from
  "sc.exe create binPath= node.exe ..." is killed after 30 s with error 1053), so the service is
  hosted by WinSW (https://github.com/winsw/winsw, one MIT-licensed executable): pass its path
  with -WinSW. The script copies it next to a generated windows-iot-dm-agent.xml in
  -InstallDir, registers the service (LocalSystem, automatic start, delayed), and sets recovery
  actions with sc.exe (restart after 10 s, 30 s, then 60 s; counter reset after a day). On stop,
  WinSW sends Ctrl+C: the agent detaches, closes its connection and exits 0.
.EXAMPLE
  .\install.ps1 -WinSW C:\tools\WinSW-x64.exe -Entry C:\iotdm-agent\main.js -AgentArgs '--tpm-slot','0'
.EXAMPLE
  .\install.ps1 -WinSW C:\tools\WinSW-x64.exe -Entry C:\iotdm-agent\main.js `
    -AgentArgs '--connection-string-file',"$env:ProgramData\windows-iot-dm\device.cs"
#>
[CmdletBinding()]
param(
  [Parameter(Mandatory)] [string] $WinSW,
  [Parameter(Mandatory)] [string] $Entry,
  [string[]] $AgentArgs = @('--tpm-slot', '0'),
  [string] $Node = (Get-Command node.exe -ErrorAction SilentlyContinue).Source,
  [string] $InstallDir = "$env:ProgramData\windows-iot-dm\agent",
  [string] $Name = 'windows-iot-dm-agent'
)
$ErrorActionPreference = 'Stop'

$principal = New-Object Security.Principal.WindowsPrincipal([Security.Principal.WindowsIdentity]::GetCurrent())
if (-not $principal.IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator)) {
  throw 'install.ps1: run from an elevated PowerShell'
}
if (-not $Node -or -not (Test-Path $Node)) { throw 'install.ps1: node.exe not found (-Node PATH)' }
if (-not (Test-Path $WinSW)) { throw "install.ps1: no WinSW executable at $WinSW" }
if (-not (Test-Path $Entry)) { throw "install.ps1: no agent at $Entry" }
if (Get-Service -Name $Name -ErrorAction SilentlyContinue) {
  throw "install.ps1: the service $Name exists; run uninstall.ps1 first"
}

$stateDir = "$env:ProgramData\windows-iot-dm\dm"
New-Item -ItemType Directory -Force -Path $InstallDir, $stateDir | Out-Null
Copy-Item $WinSW (Join-Path $InstallDir "$Name.exe") -Force

$esc = { param($s) [Security.SecurityElement]::Escape($s) }
$nodeArgs = @()
if ($Entry -like '*.ts') { $nodeArgs += @('--import', 'tsx') }
$nodeArgs += @("`"$Entry`"", '--state-dir', "`"$stateDir`"") + ($AgentArgs | ForEach-Object { "`"$_`"" })
$xml = @"
<service>
  <id>$Name</id>
  <name>Windows IoT device management agent</name>
  <description>windows-iot-dm background agent: applies properties.desired.windows from IoT Hub.</description>
  <executable>$(& $esc $Node)</executable>
  <arguments>$(& $esc ($nodeArgs -join ' '))</arguments>
  <workingdirectory>$(& $esc (Split-Path $Entry))</workingdirectory>
  <startmode>Automatic</startmode>
  <delayedAutoStart>true</delayedAutoStart>
  <stoptimeout>30 sec</stoptimeout>
  <log mode="roll-by-size"><sizeThreshold>10240</sizeThreshold><keepFiles>5</keepFiles></log>
  <onfailure action="restart" delay="10 sec"/>
  <onfailure action="restart" delay="30 sec"/>
  <onfailure action="restart" delay="60 sec"/>
  <resetfailure>1 day</resetfailure>
</service>
"@
Set-Content -Path (Join-Path $InstallDir "$Name.xml") -Value $xml -Encoding UTF8

& (Join-Path $InstallDir "$Name.exe") install
if ($LASTEXITCODE -ne 0) { throw "install.ps1: WinSW install failed ($LASTEXITCODE)" }
# LocalSystem (the default account of WinSW, set explicitly) and the recovery actions.
& sc.exe config $Name obj= LocalSystem | Out-Null
& sc.exe failure $Name reset= 86400 actions= restart/10000/restart/30000/restart/60000 | Out-Null
& sc.exe failureflag $Name 1 | Out-Null
Start-Service -Name $Name
Get-Service -Name $Name
Write-Host "logs: $InstallDir\$Name.err.log (JSON lines)"
