using System.Collections.ObjectModel;
using System.Globalization;
using System.Management.Automation;
using System.Management.Automation.Host;
using System.Management.Automation.Runspaces;
using System.Reflection;
using System.Security;
using System.Text;
using XenMigration.TestSupport;

namespace XenMigration.Tests.PowerShell;

/// <summary>What a script run in the hosted engine produced.</summary>
public sealed class PsResult
{
    public required Collection<PSObject> Output { get; init; }
    public required List<ErrorRecord> Errors { get; init; }
    public required List<VerboseRecord> Verbose { get; init; }
    public required List<WarningRecord> Warnings { get; init; }
    public required List<ProgressRecord> Progress { get; init; }
    public required string HostText { get; init; }

    public IEnumerable<T> Objects<T>() => Output.Select(o => o.BaseObject).OfType<T>();

    public void AssertNoErrors()
    {
        Assert.True(Errors.Count == 0, "Unexpected errors: " + string.Join(Environment.NewLine, Errors.Select(e => e.FullyQualifiedErrorId + ": " + e)));
    }
}

/// <summary>
/// Runs scripts in the real PowerShell engine (System.Management.Automation), with the built
/// module (out/XenMigration) imported as a user would import it.
/// </summary>
public static class PsHost
{
    private static readonly Lazy<InitialSessionState> s_state = new(() =>
    {
        var iss = InitialSessionState.CreateDefault2();
        iss.ImportPSModule(new[] { Fixtures.ModuleManifest });
        // Select-Object is not part of the engine package; this stand-in stops upstream commands
        // exactly as Select-Object -First does.
        iss.Commands.Add(new SessionStateCmdletEntry("Select-TestFirst", typeof(SelectTestFirstCommand), null));
        return iss;
    });

    public static PsResult Run(string script, params (string Name, object? Value)[] variables)
    {
        var host = new CapturingHost();
        using Runspace runspace = RunspaceFactory.CreateRunspace(host, s_state.Value);
        runspace.Open();
        foreach (var (name, value) in variables)
        {
            runspace.SessionStateProxy.SetVariable(name, value);
        }

        using var ps = System.Management.Automation.PowerShell.Create();
        ps.Runspace = runspace;
        ps.AddScript(script);
        Collection<PSObject> output;
        try
        {
            output = ps.Invoke();
        }
        catch (RuntimeException ex)
        {
            // Terminating errors become an error in the list, as -ErrorAction Stop users see them.
            output = new Collection<PSObject>();
            var errors = ps.Streams.Error.ToList();
            errors.Add(ex.ErrorRecord);
            return Result(output, ps, errors, host);
        }

        return Result(output, ps, ps.Streams.Error.ToList(), host);
    }

    /// <summary>The module assembly loaded by the engine (for test hooks).</summary>
    public static Assembly ModuleAssembly()
    {
        Run("Get-Command Get-XenStreamRecord");
        return AppDomain.CurrentDomain.GetAssemblies().Single(a => a.GetName().Name == "XenMigration.PowerShell");
    }

    private static PsResult Result(Collection<PSObject> output, System.Management.Automation.PowerShell ps, List<ErrorRecord> errors, CapturingHost host) => new()
    {
        Output = output,
        Errors = errors,
        Verbose = ps.Streams.Verbose.ToList(),
        Warnings = ps.Streams.Warning.ToList(),
        Progress = ps.Streams.Progress.ToList(),
        HostText = host.Text,
    };
}

[Cmdlet("Select", "TestFirst")]
public sealed class SelectTestFirstCommand : PSCmdlet
{
    private static readonly Type s_stop = typeof(PSObject).Assembly.GetType("System.Management.Automation.StopUpstreamCommandsException", throwOnError: true)!;
    private int _seen;

    [Parameter(ValueFromPipeline = true)]
    public PSObject? InputObject { get; set; }

    [Parameter(Position = 0)]
    public int First { get; set; } = 1;

    protected override void ProcessRecord()
    {
        WriteObject(InputObject);
        if (++_seen >= First)
        {
            throw (Exception)Activator.CreateInstance(s_stop, BindingFlags.Instance | BindingFlags.NonPublic | BindingFlags.Public, null, new object[] { this }, CultureInfo.InvariantCulture)!;
        }
    }
}

/// <summary>A host whose UI writes into a string, so Out-Host shows what the format views render.</summary>
internal sealed class CapturingHost : PSHost
{
    private readonly CapturingUI _ui = new();
    public string Text => _ui.Text.ToString();
    public override CultureInfo CurrentCulture => CultureInfo.InvariantCulture;
    public override CultureInfo CurrentUICulture => CultureInfo.InvariantCulture;
    public override Guid InstanceId { get; } = Guid.NewGuid();
    public override string Name => "XenMigrationTestHost";
    public override PSHostUserInterface UI => _ui;
    public override Version Version => new(1, 0);
    public override void EnterNestedPrompt() => throw new NotSupportedException();
    public override void ExitNestedPrompt() => throw new NotSupportedException();
    public override void NotifyBeginApplication() { }
    public override void NotifyEndApplication() { }
    public override void SetShouldExit(int exitCode) { }

    private sealed class CapturingUI : PSHostUserInterface
    {
        private readonly CapturingRawUI _raw = new();
        public StringBuilder Text { get; } = new();
        public override PSHostRawUserInterface RawUI => _raw;
        public override Dictionary<string, PSObject> Prompt(string caption, string message, Collection<FieldDescription> descriptions) => throw new NotSupportedException();
        public override int PromptForChoice(string caption, string message, Collection<ChoiceDescription> choices, int defaultChoice) => defaultChoice;
        public override PSCredential PromptForCredential(string caption, string message, string userName, string targetName) => throw new NotSupportedException();
        public override PSCredential PromptForCredential(string caption, string message, string userName, string targetName, PSCredentialTypes allowedCredentialTypes, PSCredentialUIOptions options) => throw new NotSupportedException();
        public override string ReadLine() => string.Empty;
        public override SecureString ReadLineAsSecureString() => new();
        public override void Write(string value) => Text.Append(value);
        public override void Write(ConsoleColor foregroundColor, ConsoleColor backgroundColor, string value) => Text.Append(value);
        public override void WriteLine(string value) => Text.AppendLine(value);
        public override void WriteErrorLine(string value) => Text.AppendLine(value);
        public override void WriteDebugLine(string message) { }
        public override void WriteProgress(long sourceId, ProgressRecord record) { }
        public override void WriteVerboseLine(string message) { }
        public override void WriteWarningLine(string message) { }
    }

    private sealed class CapturingRawUI : PSHostRawUserInterface
    {
        public override ConsoleColor BackgroundColor { get; set; }
        public override Size BufferSize { get; set; } = new(220, 3000);
        public override Coordinates CursorPosition { get; set; }
        public override int CursorSize { get; set; }
        public override ConsoleColor ForegroundColor { get; set; }
        public override bool KeyAvailable => false;
        public override Size MaxPhysicalWindowSize => new(220, 100);
        public override Size MaxWindowSize => new(220, 100);
        public override Coordinates WindowPosition { get; set; }
        public override Size WindowSize { get; set; } = new(220, 100);
        public override string WindowTitle { get; set; } = string.Empty;
        public override void FlushInputBuffer() { }
        public override BufferCell[,] GetBufferContents(Rectangle rectangle) => throw new NotSupportedException();
        public override KeyInfo ReadKey(ReadKeyOptions options) => throw new NotSupportedException();
        public override void ScrollBufferContents(Rectangle source, Coordinates destination, Rectangle clip, BufferCell fill) { }
        public override void SetBufferContents(Coordinates origin, BufferCell[,] contents) { }
        public override void SetBufferContents(Rectangle rectangle, BufferCell fill) { }
    }
}

/// <summary>A scratch directory removed when disposed.</summary>
public sealed class TempDir : IDisposable
{
    public TempDir()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "xm-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name, byte[] contents)
    {
        string p = System.IO.Path.Combine(Path, name);
        System.IO.File.WriteAllBytes(p, contents);
        return p;
    }

    public string Combine(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
