# Restart the streaming jobs and wait until they run again (Windows, docker compose).
#   scripts\restart-streaming-services.ps1 [-ClearCheckpoints] [-Job lakehouse|bronze|prediction|all] [-Local]
# A thin call of `fraudlake streaming restart`; the logic lives there.
param(
    [switch]$ClearCheckpoints,
    [ValidateSet("lakehouse", "bronze", "prediction", "all")][string]$Job = "all",
    [switch]$Local
)
$ErrorActionPreference = "Stop"
Set-Location (Join-Path $PSScriptRoot "..")
$fraudlake = if (Test-Path ".venv\Scripts\fraudlake.exe") { ".venv\Scripts\fraudlake.exe" } else { "fraudlake" }
$arguments = @("streaming", "restart", "--job", $Job)
if ($ClearCheckpoints) { $arguments += "--clear-checkpoints" }
if (-not $Local) { $arguments += "--compose" }
& $fraudlake @arguments
exit $LASTEXITCODE
