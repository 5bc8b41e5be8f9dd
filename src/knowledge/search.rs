//! One loaded knowledge folder (snippets, index, language) and searching it.

use std::collections::{HashMap, HashSet};
use std::ops::Bound;
use std::sync::Arc;

use chrono::NaiveDate;
use jieba_rs::Jieba;
use tantivy::collector::TopDocs;
use tantivy::query::{
    BooleanQuery, BoostQuery, ConstScoreQuery, EnableScoring, Occur, Query, RangeQuery, TermQuery,
};
use tantivy::schema::IndexRecordOption;
use tantivy::{DocAddress, DocSet, Term};

use super::answer_type::AnswerTypes;
use super::homophone::Homophones;
use super::index::{self, day_number, sku_key, Built, Fields, IndexShape, ANY};
use super::query::{analyze, Analyzed, Concept};
use super::synonyms::{QueryLanguage, Synonyms, LEXICON};
use super::tokenize::{build_jieba, core_words, normalize, words};
use super::{
    Hit, Kind, KnowledgeError, LoadReport, SearchOptions, SearchRequest, SearchResponse, Snippet,
};

/// What no-answer detection sees in the best hit of a response.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct NoAnswerSignals {
    /// Share of the query's concept weight the best hit covers (each concept alike).
    pub coverage: f32,
    /// The same with each concept weighted by its IDF in the knowledge: a word the knowledge
    /// never uses (空调 in a shop without air conditioners) weighs most.
    pub informative_coverage: f32,
    /// IDF-weighted share of the query that appears nowhere in the knowledge.
    pub unknown_share: f32,
    /// The best hit matches a domain concept: a synonym group, or a word of the built-in
    /// lexicon, the folder's dictionary or any title or tag.
    pub anchored: bool,
    pub score: f32,
    pub concepts: Vec<ConceptSignal>,
}

/// One query concept as no-answer detection saw it.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ConceptSignal {
    pub term: String,
    pub weight: f32,
    /// Snippets containing it (largest posting list among its terms).
    pub df: u64,
    pub domain: bool,
    /// The best hit contains it.
    pub matched: bool,
}

/// A document's own title: the part its snippets' titles share (a Markdown section's title is
/// "document title / heading"). A document of one section keeps the whole title: nothing tells
/// its heading apart.
fn doc_title<'a>(titles: &[&'a str]) -> &'a str {
    let mut t = titles.first().copied().unwrap_or_default();
    loop {
        let shared = titles
            .iter()
            .all(|o| *o == t || o.strip_prefix(t).is_some_and(|r| r.starts_with(" / ")));
        match t.rfind(" / ") {
            Some(p) if !shared => t = &t[..p],
            _ => return t,
        }
    }
}

/// Each word of a document title → the document whose title uses it, `None` when several do.
fn title_owners(snippets: &[Snippet], jieba: &Jieba, hmm: bool) -> HashMap<String, Option<String>> {
    let mut by_doc: HashMap<&str, Vec<&str>> = HashMap::new();
    for s in snippets {
        by_doc.entry(&s.doc_id).or_default().push(&s.title);
    }
    let mut owners: HashMap<String, Option<String>> = HashMap::new();
    for (doc, titles) in by_doc {
        // Search mode, as the title field is indexed and queries are read (618 inside 618大促).
        for w in words(jieba, &normalize(doc_title(&titles)), true, hmm) {
            owners
                .entry(w)
                .and_modify(|o| {
                    if o.as_deref() != Some(doc) {
                        *o = None;
                    }
                })
                .or_insert_with(|| Some(doc.to_string()));
        }
    }
    owners
}

/// Everything one load produced; replaced as a whole on reload.
pub struct Inner {
    pub snippets: Vec<Snippet>,
    pub report: LoadReport,
    pub version: String,
    jieba: Arc<Jieba>,
    lang: QueryLanguage,
    synonyms: Synonyms,
    /// The shop's vocabulary by sound (homophone typos).
    homophones: Homophones,
    built: Built,
    options: SearchOptions,
    /// Words of the shop's domain: dictionary, synonym groups, titles and tags.
    domain: HashSet<String>,
    /// SKUs of the product snippets (normalized).
    products: HashSet<String>,
    /// Words of product titles and tags (product names and nicknames).
    product_words: HashSet<String>,
    /// Word tokens of each synonym member, as queries tokenize them.
    member_words: HashMap<String, Vec<String>>,
    /// Each snippet's title and text, normalized, for the coverage re-ranking (once per load,
    /// not once per candidate of every query).
    texts: Vec<String>,
    /// Each FAQ row's question, normalized (empty for other snippets), for the same reason.
    faq_questions: Vec<String>,
    /// Each word of a document title (not a section heading) → the document whose title uses
    /// it, `None` when several documents' titles do.
    title_owners: HashMap<String, Option<String>>,
    answer_types: AnswerTypes,
    /// The answer kinds each snippet's title and text hold (read once per load).
    given: Vec<u8>,
}

impl Inner {
    /// Tokenizes and indexes (blocking CPU work).
    pub fn build(
        snippets: Vec<Snippet>,
        report: LoadReport,
        version: String,
        dict: Option<&str>,
        synonyms: Option<&str>,
        options: SearchOptions,
    ) -> Result<Inner, KnowledgeError> {
        let mut jieba = build_jieba(
            if options.user_dict { dict } else { None },
            options.user_dict,
        );
        let synonyms = if options.synonyms {
            let mut text = String::new();
            if options.lexicon {
                text.push_str(LEXICON);
                text.push('\n');
            }
            text.push_str(synonyms.unwrap_or(""));
            Synonyms::parse(&text)
        } else {
            Synonyms::default()
        };
        if options.user_dict && options.synonyms {
            // Synonym members are words customers write: let jieba keep them whole.
            for group in synonyms.groups() {
                for w in group {
                    let n = w.chars().count();
                    if (2..=4).contains(&n)
                        && !jieba.has_word(w)
                        && w.chars().all(|c| !c.is_ascii())
                    {
                        jieba.add_word(w, Some(2_000), None);
                    }
                }
            }
        }
        let mut domain: HashSet<String> = HashSet::new();
        // Domain words in a stable order, the shop's own first (homophone repair prefers them).
        let mut vocabulary: Vec<String> = Vec::new();
        if options.understand {
            for line in dict.unwrap_or("").lines() {
                if let Some(w) = line
                    .split_whitespace()
                    .next()
                    .filter(|w| !w.starts_with('#'))
                {
                    vocabulary.push(normalize(w));
                }
            }
            vocabulary.extend(core_words().iter().map(|w| normalize(w)));
            for group in synonyms.groups() {
                vocabulary.extend(group.iter().cloned());
            }
            domain.extend(vocabulary.iter().cloned());
            for s in &snippets {
                for tag in &s.tags {
                    domain.insert(normalize(tag));
                }
            }
        }
        let lang = QueryLanguage::new();
        let products = snippets
            .iter()
            .filter(|s| s.kind == Kind::Product)
            .map(|s| sku_key(&s.doc_id))
            .collect();
        let mut product_words: HashSet<String> = HashSet::new();
        if options.understand {
            for s in snippets.iter().filter(|s| s.kind == Kind::Product) {
                let mut add = |text: &str| {
                    for w in words(&jieba, &normalize(text), true, options.hmm) {
                        if w.chars().count() >= 2 && !lang.is_general(&w) {
                            product_words.insert(w);
                        }
                    }
                };
                add(&s.title);
                for tag in &s.tags {
                    add(tag);
                }
            }
        }
        let member_words: HashMap<String, Vec<String>> = synonyms
            .groups()
            .iter()
            .flatten()
            .map(|m| {
                let tokens = words(&jieba, m, options.query_search_mode, options.hmm);
                (m.clone(), tokens)
            })
            .collect();
        let jieba = Arc::new(jieba);
        let built = index::build(
            &snippets,
            jieba.clone(),
            IndexShape {
                titles: options.titles,
                grams: options.grams,
                hmm: options.hmm,
            },
        )?;
        if options.understand && options.titles {
            // Title and tag words, read from the index (tokenizing every title again would
            // cost as much as indexing them).
            for segment in built.searcher.segment_readers() {
                let Ok(inverted) = segment.inverted_index(built.fields.title_words) else {
                    continue;
                };
                let Ok(mut stream) = inverted.terms().stream() else {
                    continue;
                };
                while stream.advance() {
                    if let Ok(w) = std::str::from_utf8(stream.key()) {
                        domain.insert(w.to_string());
                    }
                }
            }
        }
        let homophones = if options.understand && options.homophones {
            // Only words the knowledge uses: repairing toward a word no snippet holds finds
            // nothing and risks chance homophones (买完 → 卖完).
            let f = &built.fields;
            let used = |w: &str| {
                [f.body_words, f.title_words].into_iter().any(|field| {
                    built
                        .searcher
                        .doc_freq(&Term::from_field_text(field, w))
                        .is_ok_and(|n| n > 0)
                })
            };
            Homophones::new(
                vocabulary
                    .iter()
                    .map(String::as_str)
                    .filter(|w| !lang.is_general(w) && used(w)),
            )
        } else {
            Homophones::default()
        };
        let texts: Vec<String> = snippets
            .iter()
            .map(|s| normalize(&format!("{} {}", s.title, s.text)))
            .collect();
        let faq_questions: Vec<String> = snippets
            .iter()
            .map(|s| match s.kind {
                Kind::Faq => normalize(&s.title),
                _ => String::new(),
            })
            .collect();
        let title_owners = if options.expired_named {
            title_owners(&snippets, &jieba, options.hmm)
        } else {
            HashMap::new()
        };
        let answer_types = AnswerTypes::new();
        let given = if options.answer_type_boost != 1.0 {
            texts.iter().map(|t| answer_types.given(t)).collect()
        } else {
            vec![0; snippets.len()]
        };
        Ok(Inner {
            answer_types,
            given,
            title_owners,
            texts,
            faq_questions,
            snippets,
            report,
            version,
            jieba,
            lang,
            synonyms,
            homophones,
            built,
            options,
            domain,
            products,
            product_words,
            member_words,
        })
    }

    /// The concepts a request is searched with: each a list of `(term, weight)` alternatives.
    pub fn query_terms(&self, req: &SearchRequest) -> Vec<Vec<(String, f32)>> {
        self.analyze(req)
            .concepts
            .into_iter()
            .map(|c| c.terms)
            .collect()
    }

    /// The no-answer signals of `hits` (the response to `req`).
    pub fn signals(&self, req: &SearchRequest, hits: &[Hit]) -> NoAnswerSignals {
        self.no_answer_signals(&self.analyze(req), req, hits)
    }

    /// Whether a concept is filler: a bare word (not a synonym group) whose terms are all time,
    /// count or filler words (今天, 怎么弄). Bare numbers count as filler only with `numbers`.
    fn filler(&self, c: &Concept, numbers: bool) -> bool {
        !c.group
            && c.terms.iter().all(|(t, _)| {
                self.lang.is_general(t) && (numbers || !t.chars().all(|c| c.is_ascii_digit()))
            })
    }

    /// Documents holding any of `terms` as a word (body or title), at most: the largest
    /// posting list among them.
    fn doc_freq(&self, terms: &[(String, f32)]) -> u64 {
        let f = &self.built.fields;
        let searcher = &self.built.searcher;
        let mut df = 0;
        for (t, _) in terms {
            // A one-character word is indexed as a word rarely (修 lives inside 维修): its
            // n-gram posting list says whether the knowledge uses it.
            let one = t.chars().count() == 1 && self.options.grams;
            let fields = if one {
                [f.body_grams, f.title_grams]
            } else {
                [f.body_words, f.title_words]
            };
            for field in fields {
                let n = searcher
                    .doc_freq(&Term::from_field_text(field, t))
                    .unwrap_or(0);
                df = df.max(n);
            }
        }
        df
    }

    fn no_answer_signals(
        &self,
        a: &Analyzed,
        req: &SearchRequest,
        hits: &[Hit],
    ) -> NoAnswerSignals {
        let Some(top) = hits.first() else {
            return NoAnswerSignals::default();
        };
        let text = normalize(&format!("{} {}", top.title, top.text));
        let n = self.built.searcher.num_docs() as f32;
        let idf = |df: f32| (1.0 + (n - df + 0.5) / (df + 0.5)).ln();
        let (mut total, mut found, mut unknown) = (0.0, 0.0, 0.0);
        let mut anchored = false;
        let mut top_words: Option<Vec<String>> = None;
        let mut concepts = Vec::with_capacity(a.concepts.len());
        for c in &a.concepts {
            // A synonym group always names a topic; a bare word may be a filler.
            if self.filler(c, true) {
                continue;
            }
            let w = c.terms.iter().map(|(_, w)| *w).fold(0.0, f32::max);
            let df = self.doc_freq(&c.terms);
            let info = w * idf(df as f32);
            let matched = c.terms.iter().any(|(t, _)| text.contains(t.as_str()));
            let mut domain = c.group || c.terms.iter().any(|(t, _)| self.domain.contains(t));
            // A lone character stands for the domain word it is part of in the hit (锅 in 炸锅,
            // 修 in 维修), as the n-gram field matches it.
            if !domain && matched && self.options.char_weight > 0.0 {
                if let Some((t, _)) = c.terms.iter().find(|(t, _)| t.chars().count() == 1) {
                    let hit_words = top_words
                        .get_or_insert_with(|| words(&self.jieba, &text, true, self.options.hmm));
                    domain = hit_words.iter().any(|w| {
                        w.len() > t.len() && w.contains(t.as_str()) && self.domain.contains(w)
                    });
                }
            }
            total += info;
            if matched {
                found += info;
                anchored |= domain && df > 0;
            }
            if df == 0 {
                unknown += info;
            }
            concepts.push(ConceptSignal {
                term: c.terms.first().map(|(t, _)| t.clone()).unwrap_or_default(),
                weight: w,
                df,
                domain,
                matched,
            });
        }
        // On a product's page, questions about that product are in scope (这个能煮粥吗).
        anchored |= req
            .sku
            .as_deref()
            .is_some_and(|sku| self.products.contains(&sku_key(sku)));
        let share = |x: f32| if total > 0.0 { x / total } else { 0.0 };
        NoAnswerSignals {
            coverage: coverage(a, &text),
            informative_coverage: share(found),
            unknown_share: share(unknown),
            anchored,
            score: top.score,
            concepts,
        }
    }

    pub fn analyze(&self, req: &SearchRequest) -> Analyzed {
        let mut a = analyze(
            &req.turns,
            &self.jieba,
            &self.lang,
            &self.homophones,
            &self.synonyms,
            &self.member_words,
            &self.options,
        );
        // A product name says what the question is about, the other domain words what is asked
        // (我那个炸锅咋还木有发货 asks about shipping, not about the fryer's page): when both are
        // there, the product name weighs less.
        if self.options.object_weight < 1.0 {
            let is_object = |c: &super::query::Concept| {
                c.terms.iter().any(|(t, _)| self.product_words.contains(t))
            };
            let topic = a.concepts.iter().any(|c| {
                !is_object(c) && (c.group || c.terms.iter().any(|(t, _)| self.domain.contains(t)))
            });
            if topic {
                for c in a.concepts.iter_mut().filter(|c| is_object(c)) {
                    for (_, w) in c.terms.iter_mut() {
                        *w *= self.options.object_weight;
                    }
                }
            }
        }
        if self.options.oov_chars > 0.0 && self.options.grams {
            // A word the knowledge never uses finds nothing; its characters may (芯子 → 滤芯).
            let mut extra: Vec<(String, f32)> = Vec::new();
            for c in a.concepts.iter().filter(|c| !c.group) {
                let Some((word, w)) = c.terms.first() else {
                    continue;
                };
                if word.chars().count() < 2
                    || !word.chars().all(|ch| ch > '\u{2e80}')
                    || self.lang.is_general(word)
                    || self.doc_freq(&c.terms) > 0
                {
                    continue;
                }
                for ch in word.chars() {
                    let t = ch.to_string();
                    if !self.lang.is_general(&t) {
                        extra.push((t, w * self.options.oov_chars));
                    }
                }
            }
            for (t, w) in extra {
                match a.grams.iter_mut().find(|(g, _)| *g == t) {
                    Some(g) => g.1 = g.1.max(w),
                    None => a.grams.push((t, w)),
                }
            }
        }
        a
    }

    pub fn search(&self, req: &SearchRequest) -> Result<SearchResponse, KnowledgeError> {
        let empty = SearchResponse {
            hits: Vec::new(),
            no_answer: true,
        };
        if req.k == 0 {
            return Ok(empty);
        }
        let analyzed = self.analyze(req);
        let terms = self.text_terms(&analyzed);
        if terms.is_empty() {
            return Ok(empty);
        }
        let today = req
            .date
            .unwrap_or_else(|| chrono::Local::now().date_naive());
        // Extra candidates so expired snippets can move down without emptying the top k.
        let limit = (req.k * 2 + 10).max(self.options.rerank_depth);
        let top = self.candidates(req, today, &terms, limit)?;
        let is_expired = |i: usize| self.snippets[i].valid_to.is_some_and(|to| to < today);
        // A query that names an expired snippet's document by a concept found in its document
        // title and in no other document's title (618 → 2026年618大促活动规则) asks about that
        // campaign: it is the topic, not an old rule of it. A concept with a word in other
        // titles too (活动) does not name it, nor does a section heading (退款). Single
        // characters (the 1 and 2 of 双12) are too short to name anything either way.
        let named = |i: usize| {
            let doc = Some(&self.snippets[i].doc_id);
            let owner = |t: &str| self.title_owners.get(t).map(Option::as_ref);
            analyzed.concepts.iter().any(|c| {
                let mut words = c.terms.iter().filter(|(t, _)| t.chars().count() >= 2);
                words.clone().any(|(t, _)| owner(t) == Some(doc))
                    && words.all(|(t, _)| owner(t).is_none_or(|o| o == doc))
            })
        };
        // The latest customer turn says what kind of answer is wanted now.
        let asked = if self.options.answer_type_boost != 1.0 {
            req.turns
                .iter()
                .rev()
                .find(|t| t.role == crate::conversation::Role::Customer)
                .map_or(0, |t| {
                    let head: String = t.text.chars().take(500).collect();
                    self.answer_types.asked(&self.lang.normalize(&head))
                })
        } else {
            0
        };
        // A query of n-grams only has no concept a FAQ question could hold: no FAQ factor.
        let has_concepts = analyzed
            .concepts
            .iter()
            .any(|c| c.terms.iter().any(|(_, w)| *w > 0.0));
        // Coverage re-ranking counts what the customer asks about, not the time, count and
        // filler words around it (今天, 当天, 怎么弄): no-answer detection leaves them out for the
        // same reason. A bare number is a price or a model (69那个, 满299) and counts. A query of
        // such words only keeps them all.
        let content: Vec<bool> = analyzed
            .concepts
            .iter()
            .map(|c| !self.options.coverage_skips_general || !self.filler(c, false))
            .collect();
        let counted = content.iter().any(|&x| x).then_some(content.as_slice());
        let mut hits = Vec::with_capacity(top.len());
        for &(score, i) in &top {
            let s = &self.snippets[i];
            let expired = is_expired(i);
            let mut score = score;
            if expired && !(self.options.expired_named && named(i)) {
                score *= self.options.expired_penalty;
            }
            if self.options.coverage_rerank > 0.0 {
                // Coordination: a snippet that answers more of what was asked ranks higher.
                let whole = self.options.coverage_whole_members;
                let cov = coverage_of(&analyzed, counted, whole, &self.texts[i]);
                score *= cov.max(0.05).powf(self.options.coverage_rerank);
            }
            let fq = self.options.faq_question_weight;
            if fq > 0.0 && s.kind == Kind::Faq && has_concepts {
                let question = coverage(&analyzed, &self.faq_questions[i]);
                score *= 1.0 - fq + fq * question;
            }
            if asked & self.given.get(i).copied().unwrap_or(0) != 0 {
                score *= self.options.answer_type_boost;
            }
            if let Some(sku) = &req.sku {
                if sku_key(&s.doc_id) == sku_key(sku) {
                    score *= self.options.sku_boost;
                }
            }
            hits.push(Hit {
                id: s.id.clone(),
                doc_id: s.doc_id.clone(),
                title: s.title.clone(),
                kind: s.kind,
                score,
                text: s.text.clone(),
                source: s.source.clone(),
                expired,
                valid_from: s.valid_from,
                valid_to: s.valid_to,
            });
        }
        // The expired penalty puts an expired snippet below current ones of similar relevance,
        // yet lets it lead when it is clearly what was asked (a 618 question after 618).
        // Ties: current first, then index order.
        hits.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then_with(|| a.expired.cmp(&b.expired))
        });
        hits.truncate(req.k);
        let no_answer = self.no_answer(&analyzed, req, &hits);
        Ok(SearchResponse { hits, no_answer })
    }

    /// The best `limit` snippets the request may see, with their BM25 scores.
    ///
    /// First pass: a flat union of the strongest terms (see [`Inner::first_pass`]), which
    /// Tantivy prunes with block-max WAND; filters are then applied to a few times `limit`
    /// candidates, and only when they reject so many that too few remain does it run the
    /// (unprunable) filtered intersection. Second pass: the candidates are scored with every
    /// term of the query.
    fn candidates(
        &self,
        req: &SearchRequest,
        today: NaiveDate,
        terms: &[(Term, f32)],
        limit: usize,
    ) -> Result<Vec<(f32, usize)>, KnowledgeError> {
        let searcher = &self.built.searcher;
        let first = self.first_pass(terms);
        if first.is_empty() {
            return Ok(Vec::new());
        }
        let pruned = first.len() < terms.len();
        let snippet_index = |addr: DocAddress| {
            self.built
                .ords
                .get(addr.segment_ord as usize)
                .and_then(|seg| seg.get(addr.doc_id as usize))
                .map(|&o| o as usize)
                .filter(|&o| o < self.snippets.len())
        };
        let snippet = |addr: DocAddress| snippet_index(addr).map(|o| &self.snippets[o]);
        let run = |q: &dyn Query, n: usize| -> Result<Vec<(f32, DocAddress)>, KnowledgeError> {
            searcher
                .search(q, &TopDocs::with_limit(n).order_by_score())
                .map_err(|e| KnowledgeError::Index(format!("search failed: {e}")))
        };
        let text_query = union(&first);
        let top = match self.filter(req, today) {
            None => run(text_query.as_ref(), limit)?,
            Some(filter) => {
                let over = limit * 4;
                let unfiltered = run(text_query.as_ref(), over)?;
                let exhausted = unfiltered.len() < over;
                let visible: Vec<(f32, DocAddress)> = unfiltered
                    .into_iter()
                    .filter(|(_, a)| snippet(*a).is_some_and(|s| visible(s, req, today)))
                    .take(limit)
                    .collect();
                if visible.len() >= limit || exhausted {
                    visible
                } else {
                    let query =
                        BooleanQuery::new(vec![(Occur::Must, text_query), (Occur::Must, filter)]);
                    run(&query, limit)?
                }
            }
        };
        let top = if pruned {
            self.rescore(&union(terms), top)?
        } else {
            top
        };
        Ok(top
            .into_iter()
            .filter_map(|(score, a)| snippet_index(a).map(|i| (score, i)))
            .collect())
    }

    /// BM25 scores of `docs` under `query` (every term), by seeking its scorer to each doc.
    fn rescore(
        &self,
        query: &dyn Query,
        mut docs: Vec<(f32, DocAddress)>,
    ) -> Result<Vec<(f32, DocAddress)>, KnowledgeError> {
        let searcher = &self.built.searcher;
        let err =
            |e: tantivy::TantivyError| KnowledgeError::Index(format!("re-scoring failed: {e}"));
        let weight = query
            .weight(EnableScoring::enabled_from_searcher(searcher))
            .map_err(err)?;
        docs.sort_by_key(|(_, a)| (a.segment_ord, a.doc_id));
        let mut current: Option<(u32, Box<dyn tantivy::query::Scorer>)> = None;
        for (score, addr) in docs.iter_mut() {
            if current
                .as_ref()
                .is_none_or(|(seg, _)| *seg != addr.segment_ord)
            {
                let reader = searcher.segment_reader(addr.segment_ord);
                current = Some((addr.segment_ord, weight.scorer(reader, 1.0).map_err(err)?));
            }
            if let Some((_, scorer)) = current.as_mut() {
                // Every candidate matched a subset of these terms, so the scorer stops on it.
                if scorer.doc() <= addr.doc_id && scorer.seek(addr.doc_id) == addr.doc_id {
                    *score = scorer.score();
                }
            }
        }
        docs.sort_by(|a, b| b.0.total_cmp(&a.0));
        Ok(docs)
    }

    /// The weighted terms of the query: each word, synonym and n-gram in each field it is
    /// searched in. A term that appears in several concepts gets one entry with the boosts added.
    fn text_terms(&self, a: &Analyzed) -> Vec<(Term, f32)> {
        let f = &self.built.fields;
        let o = &self.options;
        let mut boosts: Vec<(Term, f32)> = Vec::new();
        let mut index: HashMap<Term, usize> = HashMap::new();
        let mut add = |field, text: &str, boost: f32| {
            if boost <= 0.0 {
                return;
            }
            let term = Term::from_field_text(field, text);
            match index.get(&term) {
                Some(&i) => boosts[i].1 += boost,
                None => {
                    index.insert(term.clone(), boosts.len());
                    boosts.push((term, boost));
                }
            }
        };
        for c in &a.concepts {
            for (t, w) in &c.terms {
                add(f.body_words, t, w * o.body_boost);
                if o.titles {
                    add(f.title_words, t, w * o.title_boost);
                }
            }
        }
        if o.grams {
            for (g, w) in &a.grams {
                add(f.body_grams, g, w * o.body_boost);
                if o.titles {
                    add(f.title_grams, g, w * o.title_boost);
                }
            }
        }
        boosts
    }

    /// The terms of the first, pruned pass: at most `first_pass_terms`, those that weigh most
    /// in BM25 (boost × IDF). Block-max WAND's cost grows with the number of terms; the ones
    /// left out rarely decide which snippets are candidates, and the second pass scores the
    /// candidates with every term.
    fn first_pass(&self, terms: &[(Term, f32)]) -> Vec<(Term, f32)> {
        let searcher = &self.built.searcher;
        let n = searcher.num_docs() as f32;
        let mut ranked: Vec<(f32, &(Term, f32))> = terms
            .iter()
            .filter_map(|t| {
                let df = searcher.doc_freq(&t.0).unwrap_or(0) as f32;
                // A term no snippet holds costs a lookup and adds nothing.
                (df > 0.0).then(|| (t.1 * (1.0 + (n - df + 0.5) / (df + 0.5)).ln(), t))
            })
            .collect();
        let cap = self.options.first_pass_terms;
        if cap > 0 && ranked.len() > cap {
            ranked.sort_by(|a, b| b.0.total_cmp(&a.0));
            ranked.truncate(cap);
        }
        ranked.into_iter().map(|(_, t)| t.clone()).collect()
    }

    /// Platform, SKU and validity as a zero-score clause: filters must not change the ranking.
    /// A filter no snippet could fail is left out (it would only cost time).
    fn filter(&self, req: &SearchRequest, today: NaiveDate) -> Option<Box<dyn Query>> {
        let b = &self.built;
        let f: &Fields = &b.fields;
        let term = |field, v: &str| -> Box<dyn Query> {
            Box::new(TermQuery::new(
                Term::from_field_text(field, v),
                IndexRecordOption::Basic,
            ))
        };
        let mut must: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        if let Some(p) = req.platform.filter(|_| b.any_platform_limit) {
            must.push((Occur::Must, term(f.platform, p.as_str())));
        }
        // A snippet restricted to SKUs shows only on those products' pages, or when no SKU is
        // known (the customer may be asking about any of them).
        if let Some(sku) = req
            .sku
            .as_deref()
            .filter(|s| !s.trim().is_empty() && b.any_sku_limit)
        {
            let either = BooleanQuery::new(vec![
                (Occur::Should, term(f.sku, ANY)),
                (Occur::Should, term(f.sku, &sku_key(sku))),
            ]);
            must.push((Occur::Must, Box::new(either)));
        }
        if b.any_valid_from {
            must.push((
                Occur::Must,
                Box::new(RangeQuery::new(
                    Bound::Unbounded,
                    Bound::Included(Term::from_field_i64(f.valid_from, day_number(today))),
                )),
            ));
        }
        let inner: Box<dyn Query> = match must.len() {
            0 => return None,
            1 => must.pop().map(|(_, q)| q)?,
            _ => Box::new(BooleanQuery::new(must)),
        };
        Some(Box::new(ConstScoreQuery::new(inner, 0.0)))
    }

    /// Whether none of the first `no_answer_depth` hits answers what the customer asked: each
    /// covers too little of the query's informative (IDF-weighted, non-general) concepts, or
    /// matches no domain concept (今天天气怎么样 finds 恶劣天气 in a logistics section: a word, not a topic).
    fn no_answer(&self, a: &Analyzed, req: &SearchRequest, hits: &[Hit]) -> bool {
        if hits.is_empty() {
            return true;
        }
        let o = &self.options;
        if o.no_answer_coverage <= 0.0 && !o.no_answer_needs_anchor {
            return false;
        }
        // The prompt sees several hits: the question is answered when one of the first few
        // covers it, not only the best-scored one.
        let depth = o.no_answer_depth.clamp(1, hits.len());
        (0..depth).all(|i| {
            let s = self.no_answer_signals(a, req, &hits[i..]);
            s.informative_coverage < o.no_answer_coverage
                || (o.no_answer_needs_anchor && !s.anchored)
        })
    }
}

/// A flat union of boosted term queries (all term scorers, so Tantivy can prune).
fn union(terms: &[(Term, f32)]) -> Box<dyn Query> {
    let clauses: Vec<(Occur, Box<dyn Query>)> = terms
        .iter()
        .map(|(term, boost)| {
            let q = TermQuery::new(term.clone(), IndexRecordOption::WithFreqs);
            let q: Box<dyn Query> = Box::new(BoostQuery::new(Box::new(q), *boost));
            (Occur::Should, q)
        })
        .collect();
    Box::new(BooleanQuery::new(clauses))
}

/// Share of the query's concept weight covered by `text`: a concept counts when any of its
/// terms (its own words or a synonym) occurs in the text.
pub fn coverage(a: &Analyzed, normalized_text: &str) -> f32 {
    coverage_of(a, None, false, normalized_text)
}

/// [`coverage`] over the concepts `counted` marks (all when `None`); with `whole_members`, a
/// synonym group counts only when the text holds one of its whole members (the words jieba finds
/// inside members, 店铺 in 店铺券 or 签收 in 不签收, are searched but are no evidence of the
/// concept).
fn coverage_of(
    a: &Analyzed,
    counted: Option<&[bool]>,
    whole_members: bool,
    normalized_text: &str,
) -> f32 {
    let mut total = 0.0;
    let mut found = 0.0;
    for (n, c) in a.concepts.iter().enumerate() {
        if counted.is_some_and(|m| !m.get(n).copied().unwrap_or(true)) {
            continue;
        }
        let w = c.terms.iter().map(|(_, w)| *w).fold(0.0, f32::max);
        total += w;
        let held = if whole_members && c.group && !c.members.is_empty() {
            c.members
                .iter()
                .any(|m| normalized_text.contains(m.as_str()))
        } else {
            c.terms
                .iter()
                .any(|(t, _)| normalized_text.contains(t.as_str()))
        };
        if held {
            found += w;
        }
    }
    if total <= 0.0 {
        0.0
    } else {
        found / total
    }
}

/// The filters of [`Inner::filter`], on a loaded snippet.
fn visible(s: &Snippet, req: &SearchRequest, today: NaiveDate) -> bool {
    let platform_ok = match req.platform {
        Some(p) => s.platforms.is_empty() || s.platforms.contains(&p),
        None => true,
    };
    let sku_ok = match req.sku.as_deref().filter(|x| !x.trim().is_empty()) {
        Some(sku) => s.skus.is_empty() || s.skus.iter().any(|x| sku_key(x) == sku_key(sku)),
        None => true,
    };
    let date_ok = s.valid_from.is_none_or(|from| from <= today);
    platform_ok && sku_ok && date_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    fn concept(t: &str, group: bool) -> Concept {
        Concept {
            terms: vec![(t.to_string(), 1.0)],
            group,
            members: Vec::new(),
        }
    }

    /// A query of one synonym group: the words searched, and the group's whole members.
    fn one_group(terms: &[&str], members: &[&str]) -> Analyzed {
        Analyzed {
            concepts: vec![Concept {
                terms: terms.iter().map(|t| (t.to_string(), 1.0)).collect(),
                group: true,
                members: members.iter().map(|m| m.to_string()).collect(),
            }],
            grams: Vec::new(),
        }
    }

    #[test]
    fn coverage_counts_only_the_marked_concepts() {
        let a = Analyzed {
            concepts: vec![concept("积分", true), concept("时候", false)],
            grams: Vec::new(),
        };
        let text = "积分有效期为次年12月31日";
        assert_eq!(coverage(&a, text), 0.5);
        assert_eq!(coverage_of(&a, Some(&[true, false]), false, text), 1.0);
        assert_eq!(coverage_of(&a, Some(&[false, true]), false, text), 0.0);
        assert_eq!(coverage_of(&a, None, false, text), 0.5);
    }

    #[test]
    fn coverage_counts_synonyms_only_as_whole_members() {
        // 券 asked; the group's member 店铺券 was also searched as its sub-word 店铺.
        let a = one_group(&["券", "店铺", "店铺券"], &["券", "店铺券"]);
        let shop = "店铺首页点击加入会员";
        assert_eq!(coverage_of(&a, None, false, shop), 1.0);
        assert_eq!(coverage_of(&a, None, true, shop), 0.0);
        assert_eq!(coverage_of(&a, None, true, "领取店铺券"), 1.0);
        assert_eq!(coverage_of(&a, None, true, "满299可用券"), 1.0);
    }

    /// Regression: 签收, cut out of the 拒收 group's member 不签收 and itself a member of another
    /// group, counted as holding 拒收, so the lost-parcel rule ranked for a refusal question.
    #[test]
    fn a_sub_word_that_is_another_groups_member_is_no_evidence() {
        let a = one_group(&["拒收", "签收", "不签收"], &["拒收", "不签收"]);
        assert_eq!(coverage_of(&a, None, true, "显示已签收但没收到包裹"), 0.0);
        assert_eq!(coverage_of(&a, None, true, "快递到了可以不签收"), 1.0);
    }
}
