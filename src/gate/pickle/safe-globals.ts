/**
 * The allowlist of Python globals a pickle may name. A global is judged by its exact
 * (module, name) pair after the Python 2 -> 3 renames pickle itself applies; anything not
 * listed here is unsafe, whatever it is. Loading a global imports its module and fetches
 * an attribute, so even an uncalled global counts.
 *
 * The set is what loading ordinary checkpoints needs: PyTorch's own `weights_only`
 * allowlist (tensor and parameter rebuilders, storages, dtypes, sizes, devices), numpy
 * arrays, dtypes and scalars (both the `numpy.core` and numpy 2 `numpy._core` paths),
 * the containers pickle uses for Python values, joblib's array wrapper, and a named set
 * of scikit-learn estimators (instantiated through `copyreg._reconstructor` + BUILD, which
 * only fills `__dict__`). Extending it is a reviewed change to this file, never a pattern:
 * a prefix rule such as `sklearn.*` would admit functions too.
 */

const TORCH_STORAGES = [
  'FloatStorage', 'DoubleStorage', 'HalfStorage', 'BFloat16Storage', 'LongStorage', 'IntStorage', 'ShortStorage',
  'CharStorage', 'ByteStorage', 'BoolStorage', 'ComplexFloatStorage', 'ComplexDoubleStorage', 'QInt8Storage',
  'QUInt8Storage', 'QInt32Storage', 'QUInt4x2Storage', 'QUInt2x4Storage', 'UntypedStorage', 'TypedStorage',
];
const TORCH_TENSORS = ['FloatTensor', 'DoubleTensor', 'HalfTensor', 'BFloat16Tensor', 'LongTensor', 'IntTensor', 'ShortTensor', 'CharTensor', 'ByteTensor', 'BoolTensor'];
const TORCH_DTYPES = [
  'float32', 'float', 'float64', 'double', 'float16', 'half', 'bfloat16', 'complex32', 'complex64', 'complex128', 'cfloat', 'cdouble',
  'uint8', 'uint16', 'uint32', 'uint64', 'int8', 'int16', 'short', 'int32', 'int', 'int64', 'long', 'bool',
  'qint8', 'quint8', 'qint32', 'quint4x2', 'quint2x4', 'float8_e4m3fn', 'float8_e5m2', 'float8_e4m3fnuz', 'float8_e5m2fnuz',
];
const TORCH_QSCHEMES = ['per_tensor_affine', 'per_tensor_symmetric', 'per_channel_affine', 'per_channel_symmetric', 'per_channel_affine_float_qparams'];
const TORCH_LAYOUTS = ['strided', 'sparse_coo', 'sparse_csr', 'sparse_csc', 'sparse_bsr', 'sparse_bsc', '_mkldnn'];
const TORCH_REBUILDERS = [
  '_rebuild_tensor', '_rebuild_tensor_v2', '_rebuild_tensor_v3', '_rebuild_parameter', '_rebuild_parameter_with_state',
  '_rebuild_qtensor', '_rebuild_sparse_tensor', '_rebuild_meta_tensor_no_storage', '_rebuild_nested_tensor', '_rebuild_wrapper_subclass',
  '_rebuild_device_tensor_from_numpy',
];
const NUMPY_DTYPE_CLASSES = [
  'BoolDType', 'Int8DType', 'UInt8DType', 'Int16DType', 'UInt16DType', 'Int32DType', 'UInt32DType', 'Int64DType', 'UInt64DType',
  'LongDType', 'ULongDType', 'LongLongDType', 'ULongLongDType', 'ByteDType', 'UByteDType', 'ShortDType', 'UShortDType', 'IntDType', 'UIntDType',
  'Float16DType', 'Float32DType', 'Float64DType', 'LongDoubleDType', 'Complex64DType', 'Complex128DType', 'CLongDoubleDType',
  'BytesDType', 'StrDType', 'VoidDType', 'ObjectDType', 'DateTime64DType', 'TimeDelta64DType', 'StringDType',
];
const SKLEARN_ESTIMATORS: Record<string, string[]> = {
  'sklearn.linear_model._logistic': ['LogisticRegression'],
  'sklearn.linear_model._base': ['LinearRegression'],
  'sklearn.linear_model._ridge': ['Ridge', 'RidgeClassifier'],
  'sklearn.linear_model._coordinate_descent': ['Lasso', 'ElasticNet'],
  'sklearn.linear_model._stochastic_gradient': ['SGDClassifier', 'SGDRegressor'],
  'sklearn.preprocessing._data': ['StandardScaler', 'MinMaxScaler', 'RobustScaler', 'MaxAbsScaler', 'Normalizer'],
  'sklearn.preprocessing._label': ['LabelEncoder', 'LabelBinarizer'],
  'sklearn.preprocessing._encoders': ['OneHotEncoder', 'OrdinalEncoder'],
  'sklearn.tree._classes': ['DecisionTreeClassifier', 'DecisionTreeRegressor', 'ExtraTreeClassifier', 'ExtraTreeRegressor'],
  'sklearn.tree._tree': ['Tree'],
  'sklearn.ensemble._forest': ['RandomForestClassifier', 'RandomForestRegressor', 'ExtraTreesClassifier', 'ExtraTreesRegressor'],
  'sklearn.ensemble._gb': ['GradientBoostingClassifier', 'GradientBoostingRegressor'],
  'sklearn.ensemble._gb_losses': ['BinomialDeviance', 'LeastSquaresError'],
  'sklearn._loss.loss': ['HalfBinomialLoss', 'HalfSquaredError', 'HalfMultinomialLoss'],
  'sklearn._loss.link': ['LogitLink', 'IdentityLink', 'Interval'],
  'sklearn.naive_bayes': ['GaussianNB', 'MultinomialNB', 'BernoulliNB'],
  'sklearn.neighbors._classification': ['KNeighborsClassifier'],
  'sklearn.neighbors._regression': ['KNeighborsRegressor'],
  'sklearn.svm._classes': ['SVC', 'SVR', 'LinearSVC', 'LinearSVR'],
  'sklearn.cluster._kmeans': ['KMeans', 'MiniBatchKMeans'],
  'sklearn.decomposition._pca': ['PCA'],
  'sklearn.decomposition._truncated_svd': ['TruncatedSVD'],
  'sklearn.pipeline': ['Pipeline', 'FeatureUnion'],
  'sklearn.compose._column_transformer': ['ColumnTransformer'],
  'sklearn.feature_extraction.text': ['CountVectorizer', 'TfidfVectorizer', 'TfidfTransformer'],
  'sklearn.impute._base': ['SimpleImputer'],
  'sklearn.dummy': ['DummyClassifier', 'DummyRegressor'],
};

/** module -> allowed names. */
function buildAllowlist(): Map<string, Set<string>> {
  const m = new Map<string, Set<string>>();
  const add = (module: string, ...names: string[]) => {
    let s = m.get(module);
    if (s === undefined) m.set(module, (s = new Set()));
    for (const n of names) s.add(n);
  };
  add('collections', 'OrderedDict', 'Counter', 'defaultdict', 'deque');
  add('builtins', 'set', 'frozenset', 'bytearray', 'complex', 'slice', 'range', 'object', 'int', 'float', 'bool', 'str', 'bytes', 'tuple', 'list', 'dict');
  add('copyreg', '_reconstructor');
  add('_codecs', 'encode');
  add('datetime', 'datetime', 'date', 'time', 'timedelta', 'timezone');
  add('decimal', 'Decimal');
  add('uuid', 'UUID');
  add('torch', 'Size', 'Tensor', 'device', 'dtype', ...TORCH_STORAGES, ...TORCH_TENSORS, ...TORCH_DTYPES, ...TORCH_QSCHEMES, ...TORCH_LAYOUTS);
  // not `_load_from_bytes`: it runs a nested torch.load with weights_only off
  add('torch.storage', 'UntypedStorage', 'TypedStorage');
  add('torch._utils', ...TORCH_REBUILDERS);
  add('torch._tensor', '_rebuild_from_type_v2');
  add('torch.nn.parameter', 'Parameter');
  add('torch.serialization', '_get_layout');
  for (const core of ['numpy.core.multiarray', 'numpy._core.multiarray']) add(core, '_reconstruct', 'scalar');
  for (const numeric of ['numpy.core.numeric', 'numpy._core.numeric']) add(numeric, '_frombuffer');
  add('numpy', 'ndarray', 'dtype', 'bool_', 'int8', 'int16', 'int32', 'int64', 'uint8', 'uint16', 'uint32', 'uint64', 'float16', 'float32', 'float64', 'complex64', 'complex128');
  add('numpy.dtypes', ...NUMPY_DTYPE_CLASSES);
  add('numpy.random._pickle', '__randomstate_ctor', '__bit_generator_ctor', '__generator_ctor');
  add('joblib.numpy_pickle', 'NumpyArrayWrapper');
  for (const [module, names] of Object.entries(SKLEARN_ESTIMATORS)) add(module, ...names);
  return m;
}

const ALLOWLIST = buildAllowlist();

// Python 2 names pickle maps to Python 3 ones (Lib/_compat_pickle.py); applied before
// judging so `__builtin__.set` is `builtins.set` and `__builtin__.eval` is `builtins.eval`.
const MODULE_RENAMES: Record<string, string> = {
  __builtin__: 'builtins',
  copy_reg: 'copyreg',
  cPickle: 'pickle',
  exceptions: 'builtins',
  commands: 'subprocess',
  Queue: 'queue',
  UserDict: 'collections',
  urllib2: 'urllib.request',
  'multiprocessing.forking': 'multiprocessing.popen_fork',
};
const NAME_RENAMES: Record<string, [string, string]> = {
  '__builtin__ xrange': ['builtins', 'range'],
  '__builtin__ reduce': ['functools', 'reduce'],
  '__builtin__ intern': ['sys', 'intern'],
  '__builtin__ unichr': ['builtins', 'chr'],
  '__builtin__ unicode': ['builtins', 'str'],
  '__builtin__ basestring': ['builtins', 'str'],
  '__builtin__ long': ['builtins', 'int'],
  '__builtin__ raw_input': ['builtins', 'input'],
  'itertools izip': ['builtins', 'zip'],
  'itertools imap': ['builtins', 'map'],
  'itertools ifilter': ['builtins', 'filter'],
};

/** The Python 3 (module, name) pickle would look up for a global it reads. */
export function canonicalGlobal(module: string, name: string): [string, string] {
  const renamed = NAME_RENAMES[`${module} ${name}`];
  if (renamed !== undefined) return renamed;
  return [MODULE_RENAMES[module] ?? module, name];
}

/** Whether the global (already canonical) is on the allowlist. Exact match only. */
export function isSafeGlobal(module: string, name: string): boolean {
  return ALLOWLIST.get(module)?.has(name) === true;
}

// Known code-execution and file/network primitives; not a deny-list (everything
// unlisted is unsafe anyway), only a label that makes a report say how bad it is.
const DANGEROUS_MODULES = new Set([
  'os', 'posix', 'nt', 'posixpath', 'subprocess', '_posixsubprocess', 'sys', 'runpy', 'importlib', 'imp', 'pickle', '_pickle',
  'dill', 'cloudpickle', 'marshal', 'shutil', 'socket', 'ssl', 'requests', 'urllib', 'urllib.request', 'http.client', 'webbrowser', 'pty',
  'code', 'codeop', 'ctypes', 'multiprocessing', 'asyncio', 'pydoc', 'timeit', 'platform', 'pip', 'setuptools', 'types', 'shelve',
  'tempfile', 'glob', 'io', 'fileinput', 'zipimport', 'pkgutil', 'bdb', 'pdb', 'profile', 'cProfile', 'trace', 'ensurepip',
]);
const DANGEROUS_NAMES = new Map<string, Set<string>>([
  ['builtins', new Set(['eval', 'exec', 'compile', 'open', 'getattr', 'setattr', 'delattr', '__import__', 'globals', 'locals', 'vars', 'input', 'breakpoint', 'apply', 'execfile', '__dict__', '__builtins__', 'memoryview', 'help'])],
  ['operator', new Set(['methodcaller', 'attrgetter', 'itemgetter', 'call'])],
  ['functools', new Set(['partial', 'reduce', 'partialmethod'])],
  ['torch', new Set(['load', 'hub', 'jit', 'package', 'ops', 'compile'])],
  ['torch.serialization', new Set(['load', '_load'])],
  ['torch.hub', new Set(['load', 'load_state_dict_from_url', 'download_url_to_file'])],
  ['torch.jit', new Set(['load', 'script'])],
  ['numpy', new Set(['load', 'fromfile', 'loadtxt', 'genfromtxt'])],
  ['numpy.testing._private.utils', new Set(['runstring'])],
  ['joblib', new Set(['load'])],
  ['keras.models', new Set(['load_model'])],
  ['copyreg', new Set(['_reconstructor_unsafe'])],
]);

/** True when the global is a known code-execution, import, file or network primitive. */
export function isKnownDangerous(module: string, name: string): boolean {
  if (DANGEROUS_MODULES.has(module) || DANGEROUS_MODULES.has(module.split('.')[0]!)) return true;
  return DANGEROUS_NAMES.get(module)?.has(name.split('.')[0]!) === true || name.includes('__');
}
