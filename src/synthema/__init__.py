"""synthema: harmonise, anonymise, synthesise and evaluate rare blood disease data.

The pipeline, and the module that does each step (``docs/pipeline.md`` says more):

=========================  ==============================================================
step                       module (``synthema.``...)
=========================  ==============================================================
data dictionary            ``schema.dictionary`` (``load_dictionary``), ``schema.variable``,
                           ``schema.rules``
reference cohort           ``cohorts.simulate`` (``simulate_to``), ``cohorts.aml``/``scd``,
                           raw exports and their mappings: ``cohorts.raw``, ``cohorts.styles``
read and write files       ``tables`` (``read_table``, ``write_table``): every room's reader
harmonise an export        ``harmonize.apply`` (``harmonize_file``) with ``harmonize.mapping``;
                           per column ``harmonize.convert``, ``numbers``, ``dates``, ``units``
validate a clean file      ``harmonize.validate`` (``validate_file``, ``read_clean_files``)
anonymise                  ``anonymize.files`` -> ``anonymize.pipeline`` -> ``anonymize.assessment``
                           -> ``anonymize.report`` / ``anonymize.html``
fit, central               ``synth.files`` (``fit_files``): ``stats.central.CentralSource`` over the
                           pooled rows, then the synthesizer (``synth.mst``, ``aim``, ...)
fit, federated             ``federation.deploy`` (``up``, ``run_fit`` with a ``federation.run.
                           FitConfig``) -> ``federation.server_app`` -> ``federation.source.
                           FederatedSource`` over ``federation.flower`` (SecAgg+); each site:
                           ``federation.client_app`` -> ``federation.guard``, ``federation.site``
both fits, after answers   ``synth.base`` (``PrivacyBudget``: ``privacy``), ``synth.selection``,
                           ``synth._mbi`` (the one ``mbi`` user), ``synth.graphical_model``,
                           ``synth.persist`` (the model file)
sample                     ``synth.files`` (``sample_file``) with ``synth.constraints`` (rules)
evaluate                   ``evaluate.files`` (``evaluate_files``) -> ``evaluate.report`` and its
                           metrics -> ``evaluate.html``
command line               ``cli``: one thin module per command group
=========================  ==============================================================

Errors a user can fix are :class:`synthema.errors.SynthemaError` subclasses (a bad parameter:
:class:`~synthema.errors.ParameterError`), each with a one-line fix.
"""


def installed_version() -> str:
    """The installed synthema version, as reports print it ("unknown" from a bare source tree)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("synthema")
    except PackageNotFoundError:
        return "unknown"
