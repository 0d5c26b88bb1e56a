<#
.SYNOPSIS
  Stops and removes the Windows service "windows-iot-dm-agent" installed by install.ps1.
  -Purge also deletes the install folder (the DM state folder %ProgramData%\windows-iot-dm\dm
  is kept: it records what was applied).
#>
[CmdletBinding()]
param(
  [string] $InstallDir = "$env:ProgramData\windows-iot-dm\agent",
  [string] $Name = 'windows-iot-dm-agent',
  [switch] $Purge
)
$ErrorActionPreference = 'Stop'
$svc = Get-Service -Name $Name -ErrorAction SilentlyContinue
if ($svc) {
  if ($svc.Status -ne 'Stopped') { Stop-Service -Name $Name }
  $wrapper = Join-Path $InstallDir "$Name.exe"
  if (Test-Path $wrapper) { & $wrapper uninstall } else { & sc.exe delete $Name | Out-Null }
}
if ($Purge -and (Test-Path $InstallDir)) { Remove-Item -Recurse -Force $InstallDir }
Write-Host "removed $Name"
