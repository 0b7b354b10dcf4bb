namespace XenMigration.Rules
{
    /// <summary>Where a format's rules report issues: the verifier, which counts and lists them.</summary>
    internal interface IIssueSink
    {
        /// <summary>
        /// Whether an issue of <paramref name="code"/> would still be listed, so its message is worth
        /// building; when not, the issue is counted here and must not be reported.
        /// </summary>
        bool Describe(string code);

        /// <summary>Reports an issue at <paramref name="offset"/>, relative to what the rules check (a blob).</summary>
        void Report(string code, long offset, string message);
    }
}
