using SharpFuzz;
using XenMigration.Fuzz;

// Usage:
//   XenMigration.Fuzz <target>                  run under afl-fuzz (SharpFuzz out-of-process mode)
//   XenMigration.Fuzz <target> --replay <dir>   run every file of a corpus or findings folder once,
//                                               reporting the ones that escape with an exception
// Targets: stream, records, legacy, xenstore (see docs/fuzzing.md).
if (args.Length == 0 || !FuzzTargets.All.TryGetValue(args[0], out var target))
{
    Console.Error.WriteLine("usage: XenMigration.Fuzz <" + string.Join("|", FuzzTargets.All.Keys) + "> [--replay <dir>]");
    return 2;
}

if (args.Length == 3 && args[1] == "--replay")
{
    int failures = 0;
    foreach (string file in Directory.EnumerateFiles(args[2], "*", SearchOption.AllDirectories))
    {
        try
        {
            using var s = new MemoryStream(File.ReadAllBytes(file));
            target(s);
        }
        catch (Exception e)
        {
            failures++;
            Console.WriteLine($"{file}: {e.GetType().Name}: {e.Message}");
        }
    }

    Console.WriteLine(failures == 0 ? "no failures" : $"{failures} failing inputs");
    return failures == 0 ? 0 : 1;
}

Fuzzer.OutOfProcess.Run(stream => target(stream));
return 0;
