using System.Collections;
using System.Collections.Generic;
using System.IO;
using System.Management.Automation;
using System.Xml;
using XenMigration.Framing;
using XenMigration.Inspection;

namespace XenMigration.Commands
{
    /// <summary>
    /// <para type="synopsis">Says what a saved guest is: name, UUID, type, memory, vCPUs and configuration, and what its stream holds.</para>
    /// </summary>
    [Cmdlet(VerbsCommon.Get, "XenSaveInfo", DefaultParameterSetName = PathSet, HelpUri = "https://github.com/XenMigration/XenMigration/blob/main/docs/cmdlets/Get-XenSaveInfo.md")]
    [OutputType(typeof(XenSaveInfo))]
    public sealed class GetXenSaveInfoCommand : InputFileCmdlet
    {
        /// <inheritdoc/>
        protected override void ProcessFile(string path)
        {
            RunInput(path, 0x58494E46, _ =>
            {
                XenSaveInfo info = SaveInfoReader.Read(path, Stopped);
                info.Config = ConfigObject(info.ConfigText, info.ConfigFormat);
                WriteObject(info);
            });
        }

        // The configuration as PowerShell users read it: JSON as objects (as ConvertFrom-Json gives),
        // libvirt XML as an XmlDocument ([xml]), xl text as an ordered dictionary of its keys.
        private static object? ConfigObject(string? text, string? format)
        {
            if (text is null)
            {
                return null;
            }

            switch (format)
            {
                case "Json":
                    try
                    {
                        return FromJson(JsonText.Parse(text));
                    }
                    catch (System.FormatException)
                    {
                        return null;
                    }

                case "Xml":
                    var doc = new XmlDocument { XmlResolver = null };
                    try
                    {
                        using var reader = XmlReader.Create(new StringReader(text), new XmlReaderSettings { DtdProcessing = DtdProcessing.Prohibit, XmlResolver = null });
                        doc.Load(reader);
                        return doc;
                    }
                    catch (XmlException)
                    {
                        return null;
                    }

                default:
                    var keys = new System.Collections.Specialized.OrderedDictionary(System.StringComparer.Ordinal);
                    foreach (string line in text.Split('\n'))
                    {
                        int eq = line.IndexOf('=');
                        if (eq > 0 && !line.TrimStart().StartsWith("#", System.StringComparison.Ordinal))
                        {
                            keys[line.Substring(0, eq).Trim()] = line.Substring(eq + 1).Trim().TrimEnd(';').Trim('"', '\'');
                        }
                    }

                    return keys;
            }
        }

        private static object? FromJson(object? value)
        {
            switch (value)
            {
                case JsonObject o:
                    var result = new PSObject();
                    foreach (KeyValuePair<string, object?> m in o.Members)
                    {
                        result.Properties.Add(new PSNoteProperty(m.Key, FromJson(m.Value)));
                    }

                    return result;
                case IList list:
                    var items = new object?[list.Count];
                    for (int i = 0; i < items.Length; i++)
                    {
                        items[i] = FromJson(list[i]);
                    }

                    return items;
                default:
                    return value;
            }
        }
    }
}
