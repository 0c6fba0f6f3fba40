@echo off
rem DeepResearch launcher for Windows: double-click to open the terminal app (`deepresearch`).
rem When the app is not installed yet it installs it with pipx first, from DEEPRESEARCH_SOURCE if
rem set, else the checkout this file belongs to, else deepresearch-local from PyPI.
rem Arguments are passed on to `deepresearch`.
setlocal
set "PATH=%USERPROFILE%\.local\bin;%PATH%"
set "DEFAULT_SOURCE=deepresearch-local"
if exist "%~dp0..\..\pyproject.toml" if exist "%~dp0..\..\deepresearch_local\__init__.py" (
  for %%I in ("%~dp0..\..") do set "DEFAULT_SOURCE=%%~fI"
)
if not defined DEEPRESEARCH_SOURCE set "DEEPRESEARCH_SOURCE=%DEFAULT_SOURCE%"

where deepresearch >nul 2>nul
if not errorlevel 1 goto run

set "PIPX=pipx"
where pipx >nul 2>nul
if not errorlevel 1 goto install
set "PIPX=py -m pipx"
py -m pipx --version >nul 2>nul
if not errorlevel 1 goto install
echo DeepResearch is not installed, and installing it needs pipx.
echo Install Python 3.10 or newer from python.org, then run:  py -m pip install --user pipx
echo and open DeepResearch again.
pause
exit /b 1

:install
echo First start: installing DeepResearch with pipx from %DEEPRESEARCH_SOURCE%.
echo llama.cpp is compiled during the install: it needs the Visual Studio Build Tools (C++) and CMake.
%PIPX% install "%DEEPRESEARCH_SOURCE%"
if errorlevel 1 (
  echo The installation failed; the messages above say why.
  pause
  exit /b 1
)

:run
deepresearch %*
set "STATUS=%errorlevel%"
if not "%STATUS%"=="0" pause
exit /b %STATUS%
