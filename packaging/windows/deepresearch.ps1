# DeepResearch launcher for Windows PowerShell: runs `deepresearch` (the terminal app).
# When the app is not installed yet it installs it with pipx first, from $env:DEEPRESEARCH_SOURCE
# if set, else the checkout this file belongs to, else deepresearch-local from PyPI.
# Arguments are passed on to `deepresearch`.
#   powershell -ExecutionPolicy Bypass -File deepresearch.ps1 [ARGS...]

$env:Path = "$env:USERPROFILE\.local\bin;$env:Path"
$default = "deepresearch-local"
$checkout = Join-Path $PSScriptRoot "..\.."
if ((Test-Path (Join-Path $checkout "pyproject.toml")) -and
    (Test-Path (Join-Path $checkout "deepresearch_local\__init__.py"))) {
    $default = (Resolve-Path $checkout).Path
}
$source = if ($env:DEEPRESEARCH_SOURCE) { $env:DEEPRESEARCH_SOURCE } else { $default }

function Stop-WithMessage([string]$message) {
    Write-Host ""
    Write-Host $message
    Read-Host "Press Enter to close this window" | Out-Null
    exit 1
}

if (-not (Get-Command deepresearch -ErrorAction SilentlyContinue)) {
    $pipx = $null
    if (Get-Command pipx -ErrorAction SilentlyContinue) {
        $pipx = @("pipx")
    } elseif ((Get-Command py -ErrorAction SilentlyContinue) -and ((& py -m pipx --version 2>$null) -ne $null)) {
        $pipx = @("py", "-m", "pipx")
    }
    if (-not $pipx) {
        Stop-WithMessage ("DeepResearch is not installed, and installing it needs pipx. Install Python 3.10 " +
            "or newer from python.org, run 'py -m pip install --user pipx', then start DeepResearch again.")
    }
    Write-Host "First start: installing DeepResearch with pipx from $source."
    Write-Host "llama.cpp is compiled during the install: it needs the Visual Studio Build Tools (C++) and CMake."
    $command = $pipx[0]
    $rest = @($pipx | Select-Object -Skip 1) + @("install", $source)
    & $command @rest
    if ($LASTEXITCODE -ne 0) { Stop-WithMessage "The installation failed; the messages above say why." }
}

& deepresearch @args
$status = $LASTEXITCODE
if ($status -ne 0) {
    Read-Host "deepresearch stopped with exit status $status. Press Enter to close this window" | Out-Null
}
exit $status
